//! Background jobs: work that outlives a request (a dead-letter redrive, later imports, bulk
//! actions and sequence runs), with state and progress counters people can watch.
//!
//! | item | pk                  | sk    | gsi1 (newest first)       |
//! |------|---------------------|-------|---------------------------|
//! | job  | `T#t#JOB#<ulid>`    | `JOB` | `T#t#JOBS` / `<ulid>`     |
//!
//! A company's jobs live under its tenant; the platform's (redrives) under `_platform`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::db::{from_item, n, s, to_item};
use crate::{AttributeValue, Db, Item, StoreError, TenantKeys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub job_id: String,
    /// What kind of work: `redrive`, …
    pub kind: String,
    pub state: JobState,
    /// Progress counters, e.g. `{"moved": 120}`.
    pub progress: BTreeMap<String, u64>,
    /// What the job works on, e.g. `{"queue": "dashboard-counters"}`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Why it failed.
    pub error: Option<String>,
}

pub fn pk(keys: &TenantKeys, job_id: &str) -> String {
    keys.key(&format!("JOB#{job_id}"))
}

/// A new job's item (for a unit of work's `create`).
pub fn item(keys: &TenantKeys, job: &Job) -> Result<Item, StoreError> {
    let mut item = to_item(job)?;
    item.insert("pk".into(), s(pk(keys, &job.job_id)));
    item.insert("sk".into(), s("JOB"));
    item.insert("entity".into(), s("job"));
    item.insert("gsi1pk".into(), s(keys.key("JOBS")));
    item.insert("gsi1sk".into(), s(&job.job_id));
    Ok(item)
}

/// Adds `by` to the job's `counter` and moves it to `state` (one `UpdateItem` in the caller's
/// transaction, so progress and the work it counts commit together).
pub fn advance(
    table: &str,
    keys: &TenantKeys,
    job_id: &str,
    counter: &str,
    by: u64,
    state: JobState,
) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pk(keys, job_id)))
        .key("sk", s("JOB"))
        .update_expression("ADD progress.#counter :by SET #state = :state, updated_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#counter", counter)
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":by", n(by))
        .expression_attribute_values(":state", s(state.as_str()))
        .expression_attribute_values(":now", s(chrono::Utc::now().to_rfc3339()))
        .build()
        .expect("table, key and expressions are set");
    TransactWriteItem::builder().update(update).build()
}

pub async fn get(db: &Db, keys: &TenantKeys, job_id: &str) -> Result<Option<Job>, StoreError> {
    db.get(&pk(keys, job_id), "JOB").await?.map(from_item).transpose()
}

/// The tenant's jobs, newest first (1 Query).
pub async fn list(
    db: &Db,
    keys: &TenantKeys,
    limit: i32,
    start: Option<HashMap<String, AttributeValue>>,
) -> Result<(Vec<Job>, Option<HashMap<String, AttributeValue>>), StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk")
        .expression_attribute_values(":pk", s(keys.key("JOBS")))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let jobs = out.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<Vec<Job>, _>>()?;
    Ok((jobs, out.last_evaluated_key))
}

//! How an import is kept (see ARCHITECTURE.md, access patterns):
//!
//! | item         | pk                      | sk                 | what                                             |
//! |--------------|-------------------------|--------------------|--------------------------------------------------|
//! | import       | `T#t#IMPORT#<id>`       | `IMPORT`           | file, mapping, attribution (gsi1 `T#t#IMPORTS`)   |
//! | report line  | `T#t#IMPORT#<id>`       | `ROW#<row, 10 digits>` | a failed or skipped row: its field, reason, value |
//! | job          | `T#t#JOB#<id>`          | `JOB`              | state, progress and the checkpoint (`cp_row`, `cp_offset`, `cp_leg`) |
//!
//! The file itself is in S3 under `imports/<tenant>/<id>`.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use keel_core::import::{ImportAttribution, ImportFormat, LeadColumn};
use keel_store::db::{from_item, n, s, to_item};
use keel_store::index_page::{self, IndexPage};
use keel_store::jobs::{self, Job, JobState};
use keel_store::{Db, Item, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const IMPORT_SK: &str = "IMPORT";
pub const JOB_KIND: &str = "import";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Waiting for the file at its upload address.
    AwaitingUpload,
    /// The file is there and was previewed: its mapping can be tried and the import started.
    Uploaded,
    /// Started: its job tells how far it is.
    Started,
}

/// An import as the person importing sets it up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Import {
    pub id: String,
    pub file_name: String,
    pub format: ImportFormat,
    /// Bytes: as announced until the file is previewed, then as uploaded.
    pub size: u64,
    pub state: ImportState,
    /// The CSV's delimiter (`,`, `;` or a tab), found from its first line.
    pub delimiter: String,
    /// The file's header row, once previewed.
    pub headers: Vec<String>,
    /// The lead field each column fills, suggested from the headers.
    pub suggested: Vec<Option<LeadColumn>>,
    /// As started: the mapping and attribution every row was read with.
    pub mapping: Vec<Option<LeadColumn>>,
    pub attribution: ImportAttribution,
    /// Who the imported leads belong to.
    pub owner_id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Import {
    pub fn delimiter_byte(&self) -> u8 {
        self.delimiter.bytes().next().unwrap_or(b',')
    }
}

pub fn import_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("IMPORT#{id}"))
}

pub fn import_item(keys: &TenantKeys, import: &Import) -> Result<Item, StoreError> {
    let mut item = to_item(import)?;
    item.insert("pk".into(), s(import_pk(keys, &import.id)));
    item.insert("sk".into(), s(IMPORT_SK));
    item.insert("entity".into(), s("import"));
    item.insert("gsi1pk".into(), s(keys.key("IMPORTS")));
    item.insert("gsi1sk".into(), s(&import.id));
    Ok(item)
}

pub async fn get(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Import>, StoreError> {
    db.get(&import_pk(keys, id), IMPORT_SK).await?.map(from_item).transpose()
}

/// The company's imports, newest first (1 Query).
pub async fn list(db: &Db, keys: &TenantKeys, limit: i32) -> Result<Vec<Import>, StoreError> {
    let q = IndexPage { descending: true, ..IndexPage::collection("gsi1", keys.key("IMPORTS"), None, limit) };
    let (items, _) = index_page::page(db, q).await?;
    items.into_iter().map(from_item).collect()
}

/// Where a job's run stands: its leg, the last row taken and the byte offset after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub leg: u32,
    pub row: u64,
    pub offset: u64,
}

/// The job of a started import, with its progress at zero and its checkpoint before the file.
pub fn new_job(keys: &TenantKeys, import: &Import, now: DateTime<Utc>) -> Result<Item, StoreError> {
    let progress: BTreeMap<String, u64> =
        ["read", "created", "updated", "skipped", "failed"].into_iter().map(|k| (k.to_string(), 0)).collect();
    let job = Job {
        job_id: import.id.clone(),
        kind: JOB_KIND.into(),
        state: JobState::Queued,
        progress,
        detail: serde_json::json!({"import_id": import.id, "file_name": import.file_name, "format": import.format}),
        created_by: import.created_by.clone(),
        created_at: now.to_rfc3339(),
        updated_at: now.to_rfc3339(),
        error: None,
    };
    let mut item = jobs::item(keys, &job)?;
    item.insert("cp_leg".into(), n(0));
    item.insert("cp_row".into(), n(0));
    item.insert("cp_offset".into(), n(0));
    Ok(item)
}

/// The job and its checkpoint (1 GetItem, consistent).
pub async fn job(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<(Job, Checkpoint)>, StoreError> {
    let Some(item) = db.get(&jobs::pk(keys, id), "JOB").await? else { return Ok(None) };
    let number = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let checkpoint = Checkpoint { leg: number("cp_leg") as u32, row: number("cp_row"), offset: number("cp_offset") };
    Ok(Some((from_item(item)?, checkpoint)))
}

/// One line of the error report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportLine {
    pub row: u64,
    /// `failed` (not imported: the reason says why) or `skipped` (a person already there).
    pub outcome: String,
    pub field: String,
    pub reason: String,
    /// What the row had in that field (as text).
    pub value: String,
}

fn report_sk(row: u64) -> String {
    format!("ROW#{row:010}")
}

/// A row's report lines as one item (written whatever is there: the same row always makes the
/// same lines, and only the batch that moves the checkpoint past it commits).
pub fn report_item(
    db: &Db,
    keys: &TenantKeys,
    import_id: &str,
    lines: &[ReportLine],
) -> Result<TransactWriteItem, StoreError> {
    let row = lines.first().map_or(0, |l| l.row);
    let mut item = Item::new();
    item.insert("pk".into(), s(import_pk(keys, import_id)));
    item.insert("sk".into(), s(report_sk(row)));
    item.insert("entity".into(), s("import_report"));
    item.insert(
        "lines".into(),
        serde_dynamo::to_attribute_value(lines).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    );
    Ok(keel_store::db::put(&db.table, item))
}

/// A page of the report's lines in row order, and where the next page starts.
pub async fn report_page(
    db: &Db,
    keys: &TenantKeys,
    import_id: &str,
    after: Option<u64>,
) -> Result<(Vec<ReportLine>, Option<u64>), StoreError> {
    let from = report_sk(after.map_or(0, |a| a.saturating_add(1)));
    let q = IndexPage {
        range: Some((&from, "ROW#9999999999")),
        ..IndexPage::collection(index_page::TABLE, import_pk(keys, import_id), None, 500)
    };
    let (items, last_evaluated_key) = index_page::page(db, q).await?;
    let mut lines = Vec::new();
    for item in items {
        if let Some(value) = item.get("lines") {
            let mut these: Vec<ReportLine> =
                serde_dynamo::from_attribute_value(value.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            lines.append(&mut these);
        }
    }
    let last = lines.last().map(|l| l.row);
    Ok((lines, last_evaluated_key.and(last)))
}

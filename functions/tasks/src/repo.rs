//! How tasks, their statistics, the escalation policy and notifications lie in the table.
//!
//! | item              | pk                          | sk                 | gsi1 (assignee's list)                                 | gsi2 (company's list)                  |
//! |-------------------|-----------------------------|--------------------|--------------------------------------------------------|----------------------------------------|
//! | task              | `T#t#TASK#<id>`             | `TASK`             | `T#t#TASKS#<OPEN|CLOSED>#ASSIGNEE#<u>` / `<time>#<id>` | `T#t#TASKS#<OPEN|CLOSED>` / `<time>#<id>` |
//! | statistics        | `T#t#TASKSTATS`             | `RULE#<rule>` / `PRIORITY#<p>` |                                            |                                        |
//! | escalation policy | `T#t#TASKPOLICY`            | `ESCALATION`       |                                                        |                                        |
//! | notification      | `T#t#NOTIFY#<user>`         | `N#<id>`           |                                                        |                                        |
//!
//! An open task (open or in progress) sorts by its due time, so "overdue", "today" and "this week"
//! are ranges of one partition; a closed one by when it was closed. Statistics are counters moved
//! with `ADD` in the transaction that changes the task, so the automation view is one `Query`.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use keel_core::task::{EscalationPolicy, Task, TaskPriority, TaskStatus};
use keel_store::db::{from_item, n, s, to_item};
use keel_store::{Db, Item, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const TASK_SK: &str = "TASK";
const POLICY_SK: &str = "ESCALATION";
/// The statistics bucket of tasks made by hand.
pub const MANUAL: &str = "manual";
/// Notifications are kept 90 days.
const NOTIFICATION_SECONDS: i64 = 90 * 86_400;

pub fn task_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("TASK#{id}"))
}

fn state(task: &Task) -> &'static str {
    if task.status.is_closed() {
        "CLOSED"
    } else {
        "OPEN"
    }
}

/// Fixed-width milliseconds: sort keys that sort as times.
pub fn time_key(at: DateTime<Utc>) -> String {
    format!("{:013}", at.timestamp_millis().max(0))
}

pub fn assignee_index(keys: &TenantKeys, open: bool, assignee: &str) -> String {
    keys.key(&format!("TASKS#{}#ASSIGNEE#{assignee}", if open { "OPEN" } else { "CLOSED" }))
}

pub fn company_index(keys: &TenantKeys, open: bool) -> String {
    keys.key(&format!("TASKS#{}", if open { "OPEN" } else { "CLOSED" }))
}

pub fn task_item(keys: &TenantKeys, task: &Task) -> Result<Item, StoreError> {
    let id = task.id.to_string();
    let mut item = to_item(task)?;
    let sort = match (task.status.is_closed(), task.completed_at) {
        (true, Some(at)) => format!("{}#{id}", time_key(at)),
        _ => format!("{}#{id}", time_key(task.due_at)),
    };
    item.insert("pk".into(), s(task_pk(keys, &id)));
    item.insert("sk".into(), s(TASK_SK));
    item.insert("entity".into(), s("task"));
    item.insert("gsi1pk".into(), s(assignee_index(keys, state(task) == "OPEN", &task.assignee_id)));
    item.insert("gsi1sk".into(), s(&sort));
    item.insert("gsi2pk".into(), s(company_index(keys, state(task) == "OPEN")));
    item.insert("gsi2sk".into(), s(sort));
    if let Some(r) = &task.related {
        // For a list filtered on one record.
        item.insert("related_key".into(), s(format!("{}#{}", r.kind.as_str(), r.id)));
    }
    Ok(item)
}

pub async fn task(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Task>, StoreError> {
    db.get_as(&task_pk(keys, id), TASK_SK).await
}

pub async fn policy(db: &Db, keys: &TenantKeys) -> Result<EscalationPolicy, StoreError> {
    Ok(db.get_as(&keys.key("TASKPOLICY"), POLICY_SK).await?.unwrap_or_default())
}

pub fn policy_item(keys: &TenantKeys, p: &EscalationPolicy) -> Result<Item, StoreError> {
    let mut item = to_item(p)?;
    item.insert("pk".into(), s(keys.key("TASKPOLICY")));
    item.insert("sk".into(), s(POLICY_SK));
    item.insert("entity".into(), s("escalation_policy"));
    Ok(item)
}

/// The policy's item key, for a write guarded by the version read.
pub fn policy_key(keys: &TenantKeys) -> (String, &'static str) {
    (keys.key("TASKPOLICY"), POLICY_SK)
}

/// Counter moves of one task change.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatsMove {
    pub created: i64,
    pub done: i64,
    pub cancelled: i64,
    pub overdue: i64,
}

impl StatsMove {
    /// What changing `before` into `after` does to the counters (None: a new task).
    pub fn of(before: Option<&Task>, after: &Task) -> StatsMove {
        let is = |t: Option<&Task>, s: TaskStatus| i64::from(t.is_some_and(|t| t.status == s));
        StatsMove {
            created: i64::from(before.is_none()),
            done: is(Some(after), TaskStatus::Done) - is(before, TaskStatus::Done),
            cancelled: is(Some(after), TaskStatus::Cancelled) - is(before, TaskStatus::Cancelled),
            overdue: i64::from(after.went_overdue) - i64::from(before.is_some_and(|b| b.went_overdue)),
        }
    }

    fn is_empty(&self) -> bool {
        self.created == 0 && self.done == 0 && self.cancelled == 0 && self.overdue == 0
    }
}

fn counter_update(table: &str, pk: String, sk: String, m: StatsMove) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .update_expression("SET entity = :e ADD created :c, done :d, cancelled :x, overdue :o")
        .expression_attribute_values(":e", s("task_stats"))
        .expression_attribute_values(":c", n(m.created))
        .expression_attribute_values(":d", n(m.done))
        .expression_attribute_values(":x", n(m.cancelled))
        .expression_attribute_values(":o", n(m.overdue))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// The counter updates of a change: the task's rule (or "manual") and the priority it was
/// created with. None when nothing counted changed.
pub fn stats_updates(table: &str, keys: &TenantKeys, task: &Task, m: StatsMove) -> Vec<TransactWriteItem> {
    let mut batch = StatsBatch::default();
    batch.add(task, m);
    batch.updates(table, keys)
}

/// Counter moves of several tasks written in one transaction (a lead several rules act on): one
/// update per counter item, since a transaction may touch an item only once.
#[derive(Debug, Default)]
pub struct StatsBatch {
    moves: std::collections::BTreeMap<String, StatsMove>,
}

impl StatsBatch {
    pub fn add(&mut self, task: &Task, m: StatsMove) {
        let rule = task.rule_id.as_deref().unwrap_or(MANUAL);
        for sk in [format!("RULE#{rule}"), format!("PRIORITY#{}", priority_name(task.created_priority))] {
            let total = self.moves.entry(sk).or_default();
            total.created += m.created;
            total.done += m.done;
            total.cancelled += m.cancelled;
            total.overdue += m.overdue;
        }
    }

    pub fn updates(self, table: &str, keys: &TenantKeys) -> Vec<TransactWriteItem> {
        let pk = keys.key("TASKSTATS");
        self.moves
            .into_iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(sk, m)| counter_update(table, pk.clone(), sk, m))
            .collect()
    }
}

pub fn priority_name(p: TaskPriority) -> &'static str {
    match p {
        TaskPriority::Low => "low",
        TaskPriority::Normal => "normal",
        TaskPriority::High => "high",
        TaskPriority::Urgent => "urgent",
    }
}

/// Counters of one bucket.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Counters {
    pub sk: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub done: i64,
    #[serde(default)]
    pub cancelled: i64,
    #[serde(default)]
    pub overdue: i64,
}

/// Every statistics bucket of the company (1 Query: one item per rule and per priority).
pub async fn stats(db: &Db, keys: &TenantKeys) -> Result<Vec<Counters>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(keys.key("TASKSTATS")))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.items.unwrap_or_default().into_iter().map(from_item).collect()
}

/// An in-app notification for one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    /// `task_escalated`
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The task it is about.
    pub task_id: Option<String>,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

pub fn notifications_pk(keys: &TenantKeys, user: &str) -> String {
    keys.key(&format!("NOTIFY#{user}"))
}

pub fn notification_item(keys: &TenantKeys, user: &str, note: &Notification) -> Result<Item, StoreError> {
    let mut item = to_item(note)?;
    item.insert("pk".into(), s(notifications_pk(keys, user)));
    item.insert("sk".into(), s(format!("N#{}", note.id)));
    item.insert("entity".into(), s("notification"));
    item.insert("expires_at".into(), n(note.created_at.timestamp() + NOTIFICATION_SECONDS));
    Ok(item)
}

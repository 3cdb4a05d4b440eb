//! The due-time index: one item per piece of time-driven work (a task to escalate at a level, an
//! idle record an automation rule looks at again; later sequence steps and renewals), written in the same transaction as the record it is about, and
//! read by the scheduler, which only ever reads what has come due.
//!
//! | item     | pk                          | sk                                              |
//! |----------|-----------------------------|-------------------------------------------------|
//! | due work | `T#_platform#DUE#<shard>`   | `<due at, ms, 13 digits>#<tenant>#<kind>#<ref>` |
//!
//! Work of every company lies in [`SHARDS`] partitions of the platform's reserved tenant, each entry
//! naming its company, so a scheduler run is [`SHARDS`] Queries for `sk <= now`, however many
//! companies there are and whatever they hold. The shard is a hash of company and reference, so one
//! company's burst (an import making thousands of tasks) spreads over all of them.
//!
//! Entries are only ever added by writers: a task completed or moved to a later due time leaves its
//! entry, and the work's consumer finds nothing to do when it comes due (cheaper than tracking and
//! deleting entries in every write). The scheduler deletes what it handed off.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{DeleteRequest, TransactWriteItem, WriteRequest};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{n, s};
use crate::{Db, Item, StoreError, TenantKeys};

/// Partitions of the index; a scheduler run queries each. Only ever raise it: entries in a shard
/// a lower count no longer reads would wait for their TTL.
pub const SHARDS: u32 = 8;
/// An entry the scheduler failed to hand off for a year is dropped by TTL.
const KEEP_SECONDS: i64 = 366 * 86_400;

/// What kind of work came due; each kind goes to its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// An overdue task reaches its next escalation level.
    TaskEscalation,
    /// An idle-record automation rule looks at a lead or deal again.
    AutomationCheck,
}

impl DueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::TaskEscalation => "task_escalation",
            DueKind::AutomationCheck => "automation_check",
        }
    }

    pub fn parse(raw: &str) -> Option<DueKind> {
        match raw {
            "task_escalation" => Some(DueKind::TaskEscalation),
            "automation_check" => Some(DueKind::AutomationCheck),
            _ => None,
        }
    }

    /// The `detail-type` of the event the scheduler hands to the kind's queue.
    pub fn detail_type(self) -> &'static str {
        match self {
            DueKind::TaskEscalation => "TaskEscalationDue",
            DueKind::AutomationCheck => "AutomationCheckDue",
        }
    }

    /// The logical id (template.yaml) of the queue its work goes to.
    pub fn queue(self) -> &'static str {
        match self {
            DueKind::TaskEscalation | DueKind::AutomationCheck => "TaskWorkQueue",
        }
    }

    pub const ALL: [DueKind; 2] = [DueKind::TaskEscalation, DueKind::AutomationCheck];
}

/// One piece of work and when it comes due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueWork {
    pub tenant_id: String,
    pub kind: DueKind,
    /// What the work is about, as its consumer reads it (`<task id>#<level>`).
    pub reference: String,
    pub due_at: DateTime<Utc>,
}

fn shard_of(tenant_id: &str, reference: &str) -> u32 {
    let digest = Sha256::digest(format!("{tenant_id}#{reference}").as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % SHARDS
}

pub fn shard_pk(shard: u32) -> String {
    TenantKeys::platform().key(&format!("DUE#{shard}"))
}

impl DueWork {
    /// Its place in the index.
    pub fn key(&self) -> (String, String) {
        let sk = format!(
            "{:013}#{}#{}#{}",
            self.due_at.timestamp_millis().max(0),
            self.tenant_id,
            self.kind.as_str(),
            self.reference
        );
        (shard_pk(shard_of(&self.tenant_id, &self.reference)), sk)
    }

    /// A stable id for this work at this due time: the consumer's idempotency key, so a
    /// redelivered or twice-handed-off entry is applied once (the time part is the due time).
    pub fn event_id(&self) -> ulid::Ulid {
        let (_, sk) = self.key();
        let digest = Sha256::digest(sk.as_bytes());
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        ulid::Ulid::from_parts(self.due_at.timestamp_millis().max(0) as u64, u128::from_be_bytes(random))
    }

    pub fn item(&self) -> Item {
        let (pk, sk) = self.key();
        HashMap::from([
            ("pk".to_string(), s(pk)),
            ("sk".to_string(), s(sk)),
            ("entity".to_string(), s("due_work")),
            ("tenant_id".to_string(), s(&self.tenant_id)),
            ("kind".to_string(), s(self.kind.as_str())),
            ("reference".to_string(), s(&self.reference)),
            ("due_at_ms".to_string(), n(self.due_at.timestamp_millis())),
            ("expires_at".to_string(), n(self.due_at.timestamp() + KEEP_SECONDS)),
        ])
    }

    /// The entry as a transaction item (an overwrite: the same work at the same time is one entry).
    pub fn put(&self, table: &str) -> TransactWriteItem {
        crate::db::put(table, self.item())
    }

    fn from_item(item: &Item) -> Option<DueWork> {
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let ms: i64 = item.get("due_at_ms").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())?;
        Some(DueWork {
            tenant_id: text("tenant_id")?,
            kind: DueKind::parse(&text("kind")?)?,
            reference: text("reference")?,
            due_at: Utc.timestamp_millis_opt(ms).single()?,
        })
    }
}

/// One page of a shard's due entries.
pub struct DuePage {
    pub work: Vec<DueWork>,
    /// Entries that cannot be read (an unknown kind): keys to delete.
    pub unreadable: Vec<(String, String)>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Item>,
}

/// Up to `limit` entries of `shard` due at or before `now`, earliest first, from `start` (1 Query).
pub async fn due(
    db: &Db,
    shard: u32,
    now: DateTime<Utc>,
    limit: i32,
    start: Option<Item>,
) -> Result<DuePage, StoreError> {
    let high = format!("{:013}#~", now.timestamp_millis().max(0));
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk AND sk <= :high")
        .expression_attribute_values(":pk", s(shard_pk(shard)))
        .expression_attribute_values(":high", s(high))
        .limit(limit)
        .consistent_read(true)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let mut page = DuePage { work: Vec::new(), unreadable: Vec::new(), next: out.last_evaluated_key };
    for item in out.items.unwrap_or_default() {
        match DueWork::from_item(&item) {
            Some(w) => page.work.push(w),
            None => {
                let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                tracing::error!(sk = %text("sk"), "due entry without a known kind: dropped");
                page.unreadable.push((text("pk"), text("sk")));
            }
        }
    }
    Ok(page)
}

/// Deletes handed-off entries (BatchWriteItem, 25 at a time; unprocessed ones retried).
pub async fn remove(db: &Db, keys: Vec<(String, String)>) -> Result<(), StoreError> {
    for chunk in keys.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|(pk, sk)| {
                let delete = DeleteRequest::builder().key("pk", s(pk)).key("sk", s(sk)).build().expect("key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        for attempt in 0..5u64 {
            let out = db
                .client
                .batch_write_item()
                .request_items(&db.table, requests)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            requests = out.unprocessed_items.and_then(|mut m| m.remove(&db.table)).unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
        }
        if !requests.is_empty() {
            // Left in the index: handed off again next run, and applied once by the consumer.
            tracing::warn!(left = requests.len(), "due entries not deleted after retries");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(reference: &str, ms: i64) -> DueWork {
        DueWork {
            tenant_id: "01JTENANT".into(),
            kind: DueKind::TaskEscalation,
            reference: reference.into(),
            due_at: Utc.timestamp_millis_opt(ms).unwrap(),
        }
    }

    #[test]
    fn entries_sort_by_due_time_and_ids_are_stable_per_due_time() {
        let (a, b) = (work("T1#1", 1_000), work("T1#1", 20_000));
        assert!(a.key().1 < b.key().1, "fixed-width milliseconds sort as times");
        assert_eq!(a.key().0, b.key().0, "the same work stays in its shard");
        assert_eq!(a.event_id(), work("T1#1", 1_000).event_id());
        assert_ne!(a.event_id(), b.event_id());
        assert_eq!(a.event_id().timestamp_ms(), 1_000);
        assert_eq!(DueWork::from_item(&a.item()), Some(a));
    }

    #[test]
    fn one_company_s_work_spreads_over_the_shards() {
        let shards: std::collections::HashSet<String> = (0..200).map(|i| work(&format!("T{i}#1"), 0).key().0).collect();
        assert_eq!(shards.len(), SHARDS as usize);
    }
}

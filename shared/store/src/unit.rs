//! The unit of work: one logical write = one `TransactWriteItems` holding the entity, its
//! uniqueness markers, its outbox event, its audit record and (when the caller sent a key) its
//! idempotency record. Every context writes through it, so every write gets the same guarantees:
//!
//! - **one stable `ClientRequestToken` per logical write**: when an attempt committed but its
//!   answer was lost (a timeout), the retry carries the same token and DynamoDB answers success
//!   without applying it twice, instead of the retry failing its own conditions;
//! - **typed refusals**: each item says what its condition means (stale entity, taken marker,
//!   broken rule, used idempotency key), and a cancelled transaction is read back into one
//!   [`Refusal`] that the HTTP layer maps to a problem in one place.

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use chrono::{DateTime, Utc};
use keel_events::Envelope;

use crate::audit::{self, AuditRecord};
use crate::db::{n, put_new, s};
use crate::idempotency::IdempotencyRecord;
use crate::{outbox, CancelReason, Db, Item, StoreError, TenantKeys};

/// DynamoDB's limit on items per transaction.
pub const MAX_ITEMS: usize = 100;

/// Why a unit of work was refused: a condition that will fail again if retried as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Another record of the tenant already holds this unique value.
    Duplicate { entity: &'static str, field: &'static str, existing_id: String },
    /// The entity is not at the version the write was based on (or no longer exists).
    Stale,
    /// A business rule guarded by a condition (e.g. "one active administrator stays").
    Rule { field: &'static str, message: &'static str },
    /// The idempotency key was used before (a replay, or the same key with another body).
    KeyUsed,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an item's failed condition means.
#[derive(Debug, Clone)]
enum Meaning {
    /// The main entity, or an item that moves with it: a failure means it changed meanwhile.
    Stale,
    /// A uniqueness marker owned by `owner_attr = owner`.
    Marker {
        entity: &'static str,
        field: &'static str,
        pk: String,
        sk: String,
        owner_attr: &'static str,
    },
    Rule {
        field: &'static str,
        message: &'static str,
    },
    Idempotency,
    /// Outbox and audit items are new ids: they cannot fail unless something is badly wrong.
    Record,
}

pub struct UnitOfWork<'a> {
    db: &'a Db,
    items: Vec<(TransactWriteItem, Meaning)>,
    token: String,
}

impl<'a> UnitOfWork<'a> {
    pub fn new(db: &'a Db) -> UnitOfWork<'a> {
        // A ULID is unique per logical write and within the token's 36-character limit.
        UnitOfWork { db, items: Vec::new(), token: ulid::Ulid::new().to_string() }
    }

    pub fn table(&self) -> &str {
        &self.db.table
    }

    /// A new entity: fails (stale) if the key exists.
    pub fn create(&mut self, item: Item) -> &mut Self {
        let put = put_new(self.table(), item);
        self.items.push((put, Meaning::Stale));
        self
    }

    /// Replaces an entity read at `version` (its `version` attribute) with `item`.
    pub fn replace(&mut self, item: Item, version: u64) -> &mut Self {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_exists(pk) AND version = :unit_version")
            .expression_attribute_values(":unit_version", n(version))
            .build()
            .expect("table and item are set");
        self.items.push((TransactWriteItem::builder().put(put).build(), Meaning::Stale));
        self
    }

    /// Deletes an entity read at `version`: fails (stale) if it changed or is gone meanwhile.
    pub fn delete(&mut self, pk: String, sk: &str, version: u64) -> &mut Self {
        let delete = Delete::builder()
            .table_name(self.table())
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("version = :unit_version")
            .expression_attribute_values(":unit_version", n(version))
            .build()
            .expect("table and key are set");
        self.items.push((TransactWriteItem::builder().delete(delete).build(), Meaning::Stale));
        self
    }

    /// An item that changes the entity (or moves with it) under a condition on what was read:
    /// its failure means someone changed it meanwhile.
    pub fn include_entity(&mut self, item: TransactWriteItem) -> &mut Self {
        self.items.push((item, Meaning::Stale));
        self
    }

    /// An item guarded by a business rule: its failed condition refuses the write with `message`.
    pub fn include_guarded(
        &mut self,
        item: TransactWriteItem,
        field: &'static str,
        message: &'static str,
    ) -> &mut Self {
        self.items.push((item, Meaning::Rule { field, message }));
        self
    }

    /// An item without a condition that can fail in normal operation (a new id, an overwrite).
    pub fn include(&mut self, item: TransactWriteItem) -> &mut Self {
        self.items.push((item, Meaning::Record));
        self
    }

    /// Claims the unique value `pk` for `owner` (`owner_attr` names the owner on the marker).
    /// Re-claiming one's own marker is harmless; another owner's is a duplicate.
    pub fn claim_marker(
        &mut self,
        entity: &'static str,
        field: &'static str,
        mut marker: Item,
        owner_attr: &'static str,
        owner: &str,
    ) -> &mut Self {
        let pk = marker.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let sk = marker.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        marker.insert(owner_attr.into(), s(owner));
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(pk) OR #owner = :owner")
            .expression_attribute_names("#owner", owner_attr)
            .expression_attribute_values(":owner", s(owner))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table and item are set");
        self.items.push((
            TransactWriteItem::builder().put(put).build(),
            Meaning::Marker { entity, field, pk, sk, owner_attr },
        ));
        self
    }

    /// Releases a unique value `owner` holds (moved away from or given up).
    pub fn release_marker(&mut self, pk: String, sk: &str, owner_attr: &'static str, owner: &str) -> &mut Self {
        let delete = Delete::builder()
            .table_name(self.table())
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", owner_attr)
            .expression_attribute_values(":owner", s(owner))
            .build()
            .expect("table and key are set");
        self.items.push((TransactWriteItem::builder().delete(delete).build(), Meaning::Stale));
        self
    }

    /// The domain event, through the outbox.
    pub fn event(&mut self, event: &Envelope) -> Result<&mut Self, StoreError> {
        let put = outbox::put(self.table(), event)?;
        self.items.push((put, Meaning::Record));
        Ok(self)
    }

    /// The audit record of the change.
    pub fn audit(&mut self, keys: &TenantKeys, record: &AuditRecord) -> Result<&mut Self, StoreError> {
        let put = audit::put(self.table(), keys, record)?;
        self.items.push((put, Meaning::Record));
        Ok(self)
    }

    /// The response to a keyed request, stored with the change. An expired record no longer
    /// holds its key (DynamoDB's TTL deletes lazily, so the condition checks expiry itself).
    pub fn idempotency(&mut self, pk: String, record: &IdempotencyRecord, now: DateTime<Utc>) -> &mut Self {
        let put = Put::builder()
            .table_name(self.table())
            .item("pk", s(pk))
            .item("sk", s("IDEM"))
            .item("entity", s("idempotency"))
            .item("request_hash", s(&record.request_hash))
            .item("status", n(record.status))
            .item("body", s(&record.body))
            .item("expires_at", n(record.expires_at))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :unit_now")
            .expression_attribute_values(":unit_now", n(now.timestamp()))
            .build()
            .expect("table and item are set");
        self.items.push((TransactWriteItem::builder().put(put).build(), Meaning::Idempotency));
        self
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The unit's items, for a consumer whose writes commit with its claim in the harness's own
    /// transaction (`keel_worker`): the same items, conditions and all, without committing here.
    pub fn into_items(self) -> Vec<TransactWriteItem> {
        self.items.into_iter().map(|(item, _)| item).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Commits everything or nothing. Retries (lost races, lost answers) reuse this unit's token.
    pub async fn commit(self) -> Result<(), WriteError> {
        if self.items.len() > MAX_ITEMS {
            return Err(StoreError::Other(format!(
                "a unit of work holds {} items (max {MAX_ITEMS})",
                self.items.len()
            ))
            .into());
        }
        let (items, meanings): (Vec<_>, Vec<_>) = self.items.into_iter().unzip();
        match self.db.transact(items, Some(self.token)).await {
            Ok(()) => Ok(()),
            Err(StoreError::Cancelled(reasons)) => Err(refusal(self.db, &meanings, &reasons).await),
            Err(e) => Err(e.into()),
        }
    }
}

/// Reads a cancelled transaction's reasons back into what was refused.
async fn refusal(db: &Db, meanings: &[Meaning], reasons: &[CancelReason]) -> WriteError {
    let failed: Vec<&Meaning> =
        meanings.iter().zip(reasons).filter(|(_, r)| r.condition_failed()).map(|(m, _)| m).collect();
    // A used idempotency key explains everything else (a replay collides with its own entity).
    if failed.iter().any(|m| matches!(m, Meaning::Idempotency)) {
        return WriteError::Refused(Refusal::KeyUsed);
    }
    for (meaning, reason) in meanings.iter().zip(reasons).filter(|(_, r)| r.condition_failed()) {
        match meaning {
            Meaning::Marker { entity, field, pk, sk, owner_attr } => {
                let owner = |item: &Item| item.get(*owner_attr).and_then(|v| v.as_s().ok()).cloned();
                let existing = match &reason.item {
                    Some(item) => owner(item),
                    // Not every DynamoDB answers with the item: read the marker instead.
                    None => db.get(pk, sk).await.ok().flatten().as_ref().and_then(owner),
                };
                return WriteError::Refused(Refusal::Duplicate {
                    entity,
                    field,
                    existing_id: existing.unwrap_or_default(),
                });
            }
            Meaning::Rule { field, message } => return WriteError::Refused(Refusal::Rule { field, message }),
            Meaning::Stale => return WriteError::Refused(Refusal::Stale),
            Meaning::Idempotency | Meaning::Record => {}
        }
    }
    // Codes only: the items (marker keys hold emails and phones) never reach an error message.
    let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    WriteError::Store(StoreError::Other(format!("transaction cancelled: {codes:?}")))
}

//! The audit trail: who changed what, when, from where. Each record is written in the same
//! transaction as the change it describes, so there is a record for every change and none for a
//! change that did not happen. Records are append-only: written once under
//! `attribute_not_exists`, and this module has no update or delete.
//!
//! | item  | pk              | sk             | gsi1 (by entity)                              | gsi2 (by actor)                     |
//! |-------|-----------------|----------------|-----------------------------------------------|-------------------------------------|
//! | audit | `T#t#AUDIT`     | `AUD#<ulid>`   | `T#t#AUDIT#ENTITY#<type>#<id>` / `<ulid>`      | `T#t#AUDIT#ACTOR#<user>` / `<ulid>` |

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::db::{put_new, s, to_item};
use crate::{StoreError, TenantKeys};

/// One field's change. Values are JSON (`null` where the field was or became empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    /// Any JSON value.
    pub before: serde_json::Value,
    /// Any JSON value.
    pub after: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub role: String,
    /// `<entity>.<verb>`, e.g. `lead.create`, `lead.update`, `lead.archive`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub changes: Vec<FieldChange>,
    pub request_id: String,
    pub source_ip: String,
}

impl AuditRecord {
    /// Field changes between two JSON views of an entity, for the named fields. Callers pass only
    /// fields that may be recorded: secrets and password hashes never reach this function.
    pub fn diff(before: Option<&serde_json::Value>, after: &serde_json::Value, fields: &[&str]) -> Vec<FieldChange> {
        fields
            .iter()
            .filter_map(|f| {
                let b = before.and_then(|v| v.get(*f)).cloned().unwrap_or(serde_json::Value::Null);
                let a = after.get(*f).cloned().unwrap_or(serde_json::Value::Null);
                (a != b).then(|| FieldChange { field: f.to_string(), before: b, after: a })
            })
            .collect()
    }
}

pub fn partition(keys: &TenantKeys) -> String {
    keys.key("AUDIT")
}

pub fn by_entity(keys: &TenantKeys, entity_type: &str, entity_id: &str) -> String {
    keys.key(&format!("AUDIT#ENTITY#{entity_type}#{entity_id}"))
}

pub fn by_actor(keys: &TenantKeys, actor_id: &str) -> String {
    keys.key(&format!("AUDIT#ACTOR#{actor_id}"))
}

/// The transaction item that appends `record` to the tenant's trail.
pub fn put(table: &str, keys: &TenantKeys, record: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
    let id = record.id.to_string();
    let mut item = to_item(record)?;
    item.insert("pk".into(), s(partition(keys)));
    item.insert("sk".into(), s(format!("AUD#{id}")));
    item.insert("entity".into(), s("audit"));
    item.insert("gsi1pk".into(), s(by_entity(keys, &record.entity_type, &record.entity_id)));
    item.insert("gsi1sk".into(), s(&id));
    item.insert("gsi2pk".into(), s(by_actor(keys, &record.actor_id)));
    item.insert("gsi2sk".into(), s(&id));
    Ok(put_new(table, item))
}

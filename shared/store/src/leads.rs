//! How a lead is laid out in the table (see ARCHITECTURE.md, access patterns), and the writes every
//! channel that captures or touches a lead shares (the leads API, web forms, WhatsApp, imports).
//!
//! | item            | pk                           | sk       | gsi1 (all, newest first)   | gsi2 (by status)                       |
//! |-----------------|------------------------------|----------|----------------------------|----------------------------------------|
//! | lead            | `T#t#LEAD#<id>`              | `LEAD`   | `T#t#LEADS` / `<id>`       | `T#t#LEADS#STATUS#<status>` / `<id>`   |
//! | email marker    | `T#t#LEADEMAIL#<email>`      | `MARKER` |                            |                                        |
//! | phone marker    | `T#t#LEADPHONE#<phone>`      | `MARKER` |                            |                                        |

use keel_core::Lead;
use keel_events::Envelope;

use crate::audit::AuditRecord;
use crate::db::{from_item, n, s, to_item};
use crate::{Db, Item, StoreError, TenantKeys, TransactWriteItem, UnitOfWork, WriteError};

pub const LEAD_SK: &str = "LEAD";
/// Sort-key prefix of the lead's qualification history (assessments and decisions) in its collection.
pub const QUALIFICATION_PREFIX: &str = "QUAL#";
pub const MARKER_SK: &str = "MARKER";

pub fn to_lead_item(keys: &TenantKeys, lead: &Lead) -> Result<Item, StoreError> {
    let id = lead.id.to_string();
    let mut item = to_item(lead)?;
    item.insert("pk".into(), s(keys.lead(&id)));
    item.insert("sk".into(), s(LEAD_SK));
    item.insert("entity".into(), s("lead"));
    item.insert("gsi1pk".into(), s(keys.leads_index()));
    item.insert("gsi1sk".into(), s(&id));
    item.insert("gsi2pk".into(), s(keys.leads_by_status_index(lead.status.as_str())));
    item.insert("gsi2sk".into(), s(&id));
    Ok(item)
}

pub fn from_lead_item(item: Item) -> Result<Lead, StoreError> {
    from_item(item)
}

/// The uniqueness markers a lead holds: (field, marker key).
pub fn markers(keys: &TenantKeys, lead: &Lead) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(email) = &lead.email {
        out.push(("email", keys.lead_email_marker(email.as_str())));
    }
    if let Some(phone) = &lead.phone {
        out.push(("phone", keys.lead_phone_marker(phone.as_str())));
    }
    out
}

/// The marker attribute naming the lead that holds the email or phone.
const OWNER: &str = "lead_id";

pub async fn get(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<Option<Lead>, StoreError> {
    db.get(&keys.lead(lead_id), LEAD_SK).await?.map(from_lead_item).transpose()
}

/// A lead's uniqueness marker item (the unit of work adds its owner and condition).
pub fn marker(pk: String) -> Item {
    Item::from([("pk".into(), s(pk)), ("sk".into(), s(MARKER_SK)), ("entity".into(), s("lead_marker"))])
}

/// Writes a new lead with its markers, its `LeadCreated` event and its audit record (plus an
/// idempotency record, when the caller added one to `unit`), all or nothing.
pub async fn capture(
    mut unit: UnitOfWork<'_>,
    keys: &TenantKeys,
    lead: &Lead,
    event: &Envelope,
    audit: &AuditRecord,
) -> Result<(), WriteError> {
    add_capture(&mut unit, keys, lead, event, audit)?;
    unit.commit().await
}

/// Adds a new lead, its markers, its `LeadCreated` event and its audit record to `unit` (which
/// may carry more: a channel's own records).
pub fn add_capture(
    unit: &mut UnitOfWork<'_>,
    keys: &TenantKeys,
    lead: &Lead,
    event: &Envelope,
    audit: &AuditRecord,
) -> Result<(), StoreError> {
    let id = lead.id.to_string();
    unit.create(to_lead_item(keys, lead)?);
    for (field, pk) in markers(keys, lead) {
        unit.claim_marker("lead", field, marker(pk), OWNER, &id);
    }
    unit.event(event)?.audit(keys, audit)?;
    Ok(())
}

/// The id of the lead holding `email` or `phone`, from its marker (1 GetItem).
pub async fn holder(db: &Db, marker_pk: &str) -> Result<Option<String>, StoreError> {
    let item = db.get(marker_pk, MARKER_SK).await?;
    Ok(item.and_then(|i| i.get(OWNER).and_then(|v| v.as_s().ok()).cloned()))
}

/// Replaces `current` with `next` if nobody changed it meanwhile, moving uniqueness markers
/// when email or phone changed, and records `event` and `audit`.
pub async fn replace(
    db: &Db,
    keys: &TenantKeys,
    current: &Lead,
    next: &Lead,
    event: &Envelope,
    audit: &AuditRecord,
) -> Result<(), WriteError> {
    let mut unit = UnitOfWork::new(db);
    add_replace(&mut unit, keys, current, next, event, audit)?;
    unit.commit().await
}

/// Adds the replacement of `current` by `next` (markers moved, event and audit) to `unit`.
pub fn add_replace(
    unit: &mut UnitOfWork<'_>,
    keys: &TenantKeys,
    current: &Lead,
    next: &Lead,
    event: &Envelope,
    audit: &AuditRecord,
) -> Result<(), StoreError> {
    let id = next.id.to_string();
    unit.replace(to_lead_item(keys, next)?, current.version);
    let before = markers(keys, current);
    let after = markers(keys, next);
    for (field, pk) in &after {
        if !before.iter().any(|(_, old)| old == pk) {
            unit.claim_marker("lead", field, marker(pk.clone()), OWNER, &id);
        }
    }
    for (_, pk) in before {
        if !after.iter().any(|(_, new)| *new == pk) {
            unit.release_marker(pk, MARKER_SK, OWNER, &id);
        }
    }
    unit.event(event)?.audit(keys, audit)?;
    Ok(())
}

/// A transaction item that holds only if the lead is still at the version read: for a write that
/// relies on the lead without changing it.
pub fn version_check(table: &str, keys: &TenantKeys, lead: &Lead) -> TransactWriteItem {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .key("pk", s(keys.lead(&lead.id.to_string())))
        .key("sk", s(LEAD_SK))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n(lead.version))
        .build()
        .expect("table, key and condition are set");
    TransactWriteItem::builder().condition_check(check).build()
}

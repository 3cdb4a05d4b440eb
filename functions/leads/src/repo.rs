//! The leads context's access patterns. Each is one DynamoDB round trip: get = 1 `GetItem`,
//! capture / replace = 1 `TransactWriteItems` (lead + uniqueness markers + outbox event),
//! list = 1 `Query`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use keel_core::Lead;
use keel_events::Envelope;
use keel_store::audit::{self, AuditRecord};
use keel_store::db::{put_new, s};
use keel_store::{outbox, AttributeValue, CancelReason, Db, Item, StoreError, TenantKeys};

use crate::item::{from_lead_item, markers, to_lead_item, LEAD_SK, MARKER_SK};

pub async fn get(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<Option<Lead>, StoreError> {
    db.get(&keys.lead(lead_id), LEAD_SK).await?.map(from_lead_item).transpose()
}

/// Why a lead write did not happen.
#[derive(Debug)]
pub enum WriteRefused {
    /// Another lead of the tenant already has this email or phone.
    Duplicate {
        field: &'static str,
        existing_id: String,
    },
    /// The lead changed since it was read.
    Stale,
    /// The extra item the caller added (an idempotency record) already exists.
    ExtraExists,
    Store(StoreError),
}

impl From<StoreError> for WriteRefused {
    fn from(e: StoreError) -> Self {
        WriteRefused::Store(e)
    }
}

fn marker_put(db: &Db, pk: String, lead_id: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(&db.table)
        .item("pk", s(pk))
        .item("sk", s(MARKER_SK))
        .item("entity", s("lead_marker"))
        .item("lead_id", s(lead_id))
        // Only an existing marker of another lead is a duplicate; re-writing our own is harmless.
        .condition_expression("attribute_not_exists(pk) OR lead_id = :me")
        .expression_attribute_values(":me", s(lead_id))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("table, item and key are set");
    TransactWriteItem::builder().put(put).build()
}

fn marker_delete(db: &Db, pk: String, lead_id: &str) -> TransactWriteItem {
    let delete = Delete::builder()
        .table_name(&db.table)
        .key("pk", s(pk))
        .key("sk", s(MARKER_SK))
        .condition_expression("lead_id = :me")
        .expression_attribute_values(":me", s(lead_id))
        .build()
        .expect("table and key are set");
    TransactWriteItem::builder().delete(delete).build()
}

/// What each transaction item is, to read cancellation reasons back.
enum Slot {
    Lead,
    Marker(&'static str, String),
    Other,
    Extra,
}

/// Writes a new lead with its markers, its `LeadCreated` event, its audit record and `extra` (an
/// idempotency record), all or nothing.
pub async fn capture(
    db: &Db,
    keys: &TenantKeys,
    lead: &Lead,
    event: &Envelope,
    audit: &AuditRecord,
    extra: Option<TransactWriteItem>,
) -> Result<(), WriteRefused> {
    let mut items = vec![put_new(&db.table, to_lead_item(keys, lead)?)];
    let mut slots = vec![Slot::Lead];
    for (field, pk) in markers(keys, lead) {
        items.push(marker_put(db, pk.clone(), &lead.id.to_string()));
        slots.push(Slot::Marker(field, pk));
    }
    items.push(outbox::put(&db.table, event)?);
    slots.push(Slot::Other);
    items.push(audit::put(&db.table, keys, audit)?);
    slots.push(Slot::Other);
    if let Some(extra) = extra {
        items.push(extra);
        slots.push(Slot::Extra);
    }
    run(db, items, &slots).await
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
) -> Result<(), WriteRefused> {
    let id = next.id.to_string();
    let put = Put::builder()
        .table_name(&db.table)
        .set_item(Some(to_lead_item(keys, next)?))
        .condition_expression("attribute_exists(pk) AND version = :v")
        .expression_attribute_values(":v", AttributeValue::N(current.version.to_string()))
        .build()
        .expect("table and item are set");
    let mut items = vec![TransactWriteItem::builder().put(put).build()];
    let mut slots = vec![Slot::Lead];
    let before = markers(keys, current);
    let after = markers(keys, next);
    for (field, pk) in &after {
        if !before.iter().any(|(_, old)| old == pk) {
            items.push(marker_put(db, pk.clone(), &id));
            slots.push(Slot::Marker(field, pk.clone()));
        }
    }
    for (_, pk) in &before {
        if !after.iter().any(|(_, new)| new == pk) {
            items.push(marker_delete(db, pk.clone(), &id));
            slots.push(Slot::Other);
        }
    }
    items.push(outbox::put(&db.table, event)?);
    slots.push(Slot::Other);
    items.push(audit::put(&db.table, keys, audit)?);
    slots.push(Slot::Other);
    run(db, items, &slots).await
}

/// No `ClientRequestToken` here: the SDK sets one per call and reuses it across its own retries;
/// retries by clients are made safe by idempotency records and versions instead.
async fn run(db: &Db, items: Vec<TransactWriteItem>, slots: &[Slot]) -> Result<(), WriteRefused> {
    match db.transact(items, None).await {
        Ok(()) => Ok(()),
        Err(StoreError::Cancelled(reasons)) => Err(refusal(db, slots, &reasons).await),
        Err(e) => Err(WriteRefused::Store(e)),
    }
}

async fn refusal(db: &Db, slots: &[Slot], reasons: &[CancelReason]) -> WriteRefused {
    // A used idempotency key explains everything else (a replay collides with its own lead).
    if slots.iter().zip(reasons).any(|(slot, r)| matches!(slot, Slot::Extra) && r.condition_failed()) {
        return WriteRefused::ExtraExists;
    }
    for (slot, reason) in slots.iter().zip(reasons) {
        if !reason.condition_failed() {
            continue;
        }
        match slot {
            Slot::Lead => return WriteRefused::Stale,
            Slot::Marker(field, pk) => {
                let existing = match &reason.item {
                    Some(item) => lead_id_of(item),
                    // Not every DynamoDB answers with the item: read the marker instead.
                    None => db.get(pk, MARKER_SK).await.ok().flatten().as_ref().and_then(lead_id_of),
                };
                return WriteRefused::Duplicate { field, existing_id: existing.unwrap_or_default() };
            }
            Slot::Other | Slot::Extra => {}
        }
    }
    // Codes only: the items (marker keys hold emails and phones) never reach an error message.
    let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    WriteRefused::Store(StoreError::Other(format!("transaction cancelled: {codes:?}")))
}

fn lead_id_of(item: &Item) -> Option<String> {
    item.get("lead_id").and_then(|v| v.as_s().ok()).cloned()
}

/// One page of a lead listing.
pub struct ListQuery<'a> {
    pub status: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub source: Option<&'a str>,
    pub score_band: Option<&'a str>,
    pub limit: i32,
    pub start: Option<HashMap<String, AttributeValue>>,
}

pub async fn list(
    db: &Db,
    keys: &TenantKeys,
    q: ListQuery<'_>,
) -> Result<(Vec<Lead>, Option<HashMap<String, AttributeValue>>), StoreError> {
    let (index, pk_name, pk) = match q.status {
        Some(status) => ("gsi2", "gsi2pk", keys.leads_by_status_index(status)),
        None => ("gsi1", "gsi1pk", keys.leads_index()),
    };
    let mut req = db
        .client
        .query()
        .table_name(&db.table)
        .index_name(index)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", pk_name)
        .expression_attribute_values(":pk", s(pk))
        .scan_index_forward(false)
        .limit(q.limit)
        .set_exclusive_start_key(q.start);
    let mut filters = Vec::new();
    for (name, attr, value) in
        [("#owner", "owner_id", q.owner_id), ("#source", "source", q.source), ("#band", "score_band", q.score_band)]
    {
        if let Some(v) = value {
            let placeholder = format!(":{}", attr);
            filters.push(format!("{name} = {placeholder}"));
            req = req.expression_attribute_names(name, attr).expression_attribute_values(placeholder, s(v));
        }
    }
    if !filters.is_empty() {
        req = req.filter_expression(filters.join(" AND "));
    }
    let out = req.send().await.map_err(StoreError::from_sdk)?;
    let leads = out.items.unwrap_or_default().into_iter().map(from_lead_item).collect::<Result<Vec<_>, _>>()?;
    Ok((leads, out.last_evaluated_key))
}

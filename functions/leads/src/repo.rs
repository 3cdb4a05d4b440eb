//! The leads context's access patterns. Each is one DynamoDB round trip: get = 1 `GetItem`,
//! capture / replace = 1 `TransactWriteItems` (lead + uniqueness markers + outbox event),
//! list = 1 `Query`.

use std::collections::HashMap;

use keel_core::Lead;
use keel_events::Envelope;
use keel_store::audit::AuditRecord;
use keel_store::db::s;
use keel_store::{AttributeValue, Db, Item, StoreError, TenantKeys, UnitOfWork, WriteError};

use crate::item::{from_lead_item, markers, to_lead_item, LEAD_SK, MARKER_SK};

/// The marker attribute naming the lead that holds the email or phone.
const OWNER: &str = "lead_id";

pub async fn get(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<Option<Lead>, StoreError> {
    db.get(&keys.lead(lead_id), LEAD_SK).await?.map(from_lead_item).transpose()
}

/// A lead's uniqueness marker item (the unit of work adds its owner and condition).
fn marker(pk: String) -> Item {
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
    let id = lead.id.to_string();
    unit.create(to_lead_item(keys, lead)?);
    for (field, pk) in markers(keys, lead) {
        unit.claim_marker("lead", field, marker(pk), OWNER, &id);
    }
    unit.event(event)?.audit(keys, audit)?;
    unit.commit().await
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
    let id = next.id.to_string();
    let mut unit = UnitOfWork::new(db);
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
    unit.commit().await
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

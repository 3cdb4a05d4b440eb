//! The consent ledger's items, in the lead's own partition:
//!
//! | item   | pk              | sk               | what                                          |
//! |--------|-----------------|------------------|-----------------------------------------------|
//! | record | `T#t#LEAD#<id>` | `CONSENT#<ulid>` | one grant or withdrawal (never changed)        |
//! | state  | `T#t#LEAD#<id>` | `CONSENT`        | per channel, the latest record (`email`, ...)  |
//!
//! A record and the state move together in one transaction, conditioned on the state (a
//! [`Guard`]), so the state is always the latest record written, and the check before a send is
//! one GetItem.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, SecondsFormat, Utc};
use keel_core::consent::{
    ChannelConsent, ConsentChannel, ConsentCheck, ConsentRecord, ConsentState, ConsentStatus, Requirement,
};
use keel_events::{Actor, ConsentChanged, Envelope};

use crate::audit::{AuditRecord, FieldChange};
use crate::db::{from_item, n, s, to_item};
use crate::index_page::{self, IndexPage};
use crate::{AttributeValue, Db, StoreError, TenantKeys, UnitOfWork};

pub const STATE_SK: &str = "CONSENT";
const RECORD_PREFIX: &str = "CONSENT#";

fn record_sk(id: &str) -> String {
    format!("{RECORD_PREFIX}{id}")
}

/// What the state must be for a record to change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// As read (its version; 0: no state yet): a person recording consent decided on what they
    /// saw, so a record written meanwhile makes them read again (`Refusal::Stale`).
    Read(u64),
    /// Anything but withdrawn for the channel (else `Refusal::Rule`, field `consent`): a grant from
    /// a public form never lifts a withdrawal, and a withdrawal through a link lands once.
    NotWithdrawn,
}

/// The field a [`Guard::NotWithdrawn`] refusal names.
pub const WITHDRAWN_FIELD: &str = "consent";

/// Appends `record` to the lead's ledger and makes it the channel's state, with its
/// `ConsentChanged` event and `audit` entry.
pub fn record(
    unit: &mut UnitOfWork<'_>,
    keys: &TenantKeys,
    lead_id: &str,
    record: &ConsentRecord,
    guard: Guard,
    actor: Actor,
    audit: &AuditRecord,
) -> Result<(), StoreError> {
    let mut item = to_item(record)?;
    item.insert("pk".into(), s(keys.lead(lead_id)));
    item.insert("sk".into(), s(record_sk(&record.id.to_string())));
    item.insert("entity".into(), s("consent"));
    unit.include(crate::db::put_new(unit.table(), item));
    let update = state_update(unit.table(), keys, lead_id, record, guard)?;
    match guard {
        Guard::Read(_) => unit.include_entity(update),
        Guard::NotWithdrawn => unit.include_guarded(update, WITHDRAWN_FIELD, "consent for the channel was withdrawn"),
    };
    let event = Envelope::new(
        keys.tenant_id(),
        actor,
        record.at,
        &ConsentChanged {
            lead_id: lead_id.to_string(),
            channel: record.channel.as_str().to_string(),
            status: record.status.as_str().to_string(),
            source: record.source.clone(),
            record_id: record.id.to_string(),
        },
    );
    unit.event(&event)?.audit(keys, audit)?;
    Ok(())
}

/// The audit trail's view of a record: the channel's status before (as `before` holds it) and
/// after.
pub fn change(before: &ConsentState, record: &ConsentRecord) -> FieldChange {
    FieldChange {
        field: format!("consent.{}", record.channel.as_str()),
        before: before.channels.get(&record.channel).map(|c| c.status.as_str()).into(),
        after: record.status.as_str().into(),
    }
}

fn state_update(
    table: &str,
    keys: &TenantKeys,
    lead_id: &str,
    record: &ConsentRecord,
    guard: Guard,
) -> Result<TransactWriteItem, StoreError> {
    let entry = ChannelConsent {
        status: record.status,
        at: record.at,
        record_id: record.id.to_string(),
        source: record.source.clone(),
    };
    let entry = serde_dynamo::to_attribute_value(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(keys.lead(lead_id)))
        .key("sk", s(STATE_SK))
        .update_expression("SET #channel = :entry, entity = :entity, updated_at = :now ADD version :one")
        .expression_attribute_names("#channel", record.channel.as_str())
        .expression_attribute_values(":entry", entry)
        .expression_attribute_values(":entity", s("consent_state"))
        .expression_attribute_values(":now", s(stamp(record.at)))
        .expression_attribute_values(":one", n(1));
    update = match guard {
        Guard::Read(0) => update.condition_expression("attribute_not_exists(pk)"),
        Guard::Read(version) => {
            update.condition_expression("version = :read").expression_attribute_values(":read", n(version))
        }
        Guard::NotWithdrawn => update
            .condition_expression("attribute_not_exists(#channel) OR #channel.#status <> :withdrawn")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":withdrawn", s(ConsentStatus::Withdrawn.as_str())),
    };
    let update = update.build().map_err(|e| StoreError::Other(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The lead's current consent per channel (1 GetItem).
pub async fn state(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<ConsentState, StoreError> {
    let Some(item) = db.get(&keys.lead(lead_id), STATE_SK).await? else {
        return Ok(ConsentState::default());
    };
    let mut state = ConsentState {
        version: item.get("version").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0),
        ..ConsentState::default()
    };
    for channel in ConsentChannel::ALL {
        if let Some(value) = item.get(channel.as_str()) {
            let entry: ChannelConsent =
                serde_dynamo::from_attribute_value(value.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            state.channels.insert(channel, entry);
        }
    }
    Ok(state)
}

/// Whether a send on `channel` may go to the lead (1 GetItem): the check every outbound send
/// makes, right before it sends.
pub async fn check(
    db: &Db,
    keys: &TenantKeys,
    lead_id: &str,
    channel: ConsentChannel,
    requirement: Requirement,
) -> Result<ConsentCheck, StoreError> {
    Ok(state(db, keys, lead_id).await?.check(channel, requirement))
}

fn ledger_query(
    keys: &TenantKeys,
    lead_id: &str,
    limit: i32,
    start: Option<HashMap<String, AttributeValue>>,
) -> IndexPage<'static> {
    IndexPage {
        start,
        descending: true,
        ..IndexPage::collection(index_page::TABLE, keys.lead(lead_id), Some(RECORD_PREFIX), limit)
    }
}

fn records(items: Vec<crate::Item>) -> Result<Vec<ConsentRecord>, StoreError> {
    let mut records = Vec::with_capacity(items.len());
    for mut item in items {
        // Records written before the ledger had ids carry theirs in the sort key only.
        if !item.contains_key("id") {
            if let Some(id) = item.get("sk").and_then(|v| v.as_s().ok()).and_then(|sk| sk.strip_prefix(RECORD_PREFIX)) {
                item.insert("id".into(), s(id));
            }
        }
        records.push(from_item(item)?);
    }
    Ok(records)
}

/// A page of the lead's ledger, newest first (1 Query).
pub async fn history(
    db: &Db,
    keys: &TenantKeys,
    lead_id: &str,
    limit: i32,
    start: Option<HashMap<String, AttributeValue>>,
) -> Result<(Vec<ConsentRecord>, Option<HashMap<String, AttributeValue>>), StoreError> {
    let (items, next) = index_page::page(db, ledger_query(keys, lead_id, limit, start)).await?;
    Ok((records(items)?, next))
}

/// The lead's whole ledger, newest first (a Query per 100 records).
pub async fn history_all(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<Vec<ConsentRecord>, StoreError> {
    records(index_page::every(db, ledger_query(keys, lead_id, 100, None)).await?)
}

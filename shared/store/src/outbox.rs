//! The transactional outbox: a state change and its domain events are written in one
//! `TransactWriteItems`. The table's stream carries the event items to the relay, which publishes
//! them to EventBridge; no handler publishes directly.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::Duration;
use keel_events::Envelope;
use serde::{Deserialize, Serialize};

use crate::db::{n, s};
use crate::{StoreError, TenantKeys};

/// Events stay readable in the tenant's feed this long (integrations catch up after downtime).
pub const EVENT_RETENTION_DAYS: i64 = 30;

/// An outbox item as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub detail_type: String,
    pub source: String,
    /// The envelope as JSON text: published as-is, never re-shaped by the relay.
    pub envelope: String,
    pub expires_at: i64,
}

/// The transaction item that records `event` in its tenant's outbox.
pub fn put(table: &str, event: &Envelope) -> Result<TransactWriteItem, StoreError> {
    let keys = TenantKeys::new(&event.tenant_id);
    let envelope = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let expires_at = (event.occurred_at + Duration::days(EVENT_RETENTION_DAYS)).timestamp();
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(keys.events()))
        .item("sk", s(format!("EVT#{}", event.event_id)))
        .item("entity", s("event"))
        .item("detail_type", s(&event.detail_type))
        .item("source", s(&event.source))
        .item("envelope", s(envelope))
        .item("expires_at", n(expires_at))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

//! Keel's domain event catalogue: what integrations and consumers receive through EventBridge.
//!
//! Every event travels in an [`Envelope`] that carries the tenant, a unique id (the consumers'
//! idempotency key), when it happened, who did it and the schema version of its `detail`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

pub mod bus;
pub mod capture;
pub mod customers;
pub mod deals;
pub mod delivery;
pub mod governance;
pub mod lead;
pub mod system;
pub mod tasks;

pub use capture::ImportRequested;
pub use customers::{AccountChanged, ContactChanged};
pub use deals::{DealChanged, DealWon};
pub use governance::ConsentChanged;
pub use lead::{LeadArchived, LeadConverted, LeadCreated, LeadQualified, LeadUpdated};
pub use system::RedriveRequested;
pub use tasks::TaskEscalated;

/// The EventBridge `source` of every event a context publishes.
pub const SOURCE_LEADS: &str = "keel.leads";
/// The source of account and contact events.
pub const SOURCE_CUSTOMERS: &str = "keel.customers";
/// The source of opportunity events.
pub const SOURCE_DEALS: &str = "keel.deals";

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub role: String,
}

/// A domain event's type: its EventBridge `detail-type`, `source` and schema version.
pub trait DomainEvent: Serialize {
    const DETAIL_TYPE: &'static str;
    const SOURCE: &'static str;
    const VERSION: u32;
}

/// The outer shape of every event (the EventBridge `detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub event_id: Ulid,
    pub detail_type: String,
    pub source: String,
    pub version: u32,
    pub tenant_id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub detail: serde_json::Value,
}

impl Envelope {
    pub fn new<E: DomainEvent>(tenant_id: &str, actor: Actor, occurred_at: DateTime<Utc>, event: &E) -> Envelope {
        Envelope {
            event_id: Ulid::new(),
            detail_type: E::DETAIL_TYPE.to_string(),
            source: E::SOURCE.to_string(),
            version: E::VERSION,
            tenant_id: tenant_id.to_string(),
            occurred_at,
            actor,
            // Serialising plain structs of strings and numbers cannot fail.
            detail: serde_json::to_value(event).unwrap_or_default(),
        }
    }
}

//! Platform events: work operators asked for, carried out by the system jobs consumer. They are
//! the platform's (tenant `_platform`), never a company's.

use serde::{Deserialize, Serialize};

use crate::DomainEvent;

pub const SOURCE_SYSTEM: &str = "keel.system";

/// Move a consumer queue's dead letters back to it, a chunk at a time; the consumer emits the
/// next chunk's event itself until the dead-letter queue is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveRequested {
    pub job_id: String,
    /// The consumer queue's name, e.g. `dashboard-counters`.
    pub queue: String,
}

impl DomainEvent for RedriveRequested {
    const DETAIL_TYPE: &'static str = "RedriveRequested";
    const SOURCE: &'static str = SOURCE_SYSTEM;
    const VERSION: u32 = 1;
}

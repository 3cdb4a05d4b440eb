//! Data governance on the bus: consent granted or withdrawn, which every sender (sequences,
//! WhatsApp follow-ups, integrations that mail) must heed.

use serde::{Deserialize, Serialize};

use crate::DomainEvent;

pub const SOURCE_GOVERNANCE: &str = "keel.governance";

/// A lead's consent for a channel changed: a record appended to its ledger. Carries no personal
/// values, so an erasure leaves it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentChanged {
    pub lead_id: String,
    /// `email`, `whatsapp`, `phone` or `sms`.
    pub channel: String,
    /// `granted` or `withdrawn`.
    pub status: String,
    /// `form:<id>`, `user:<id>` or `unsubscribe-link`.
    pub source: String,
    pub record_id: String,
}

impl DomainEvent for ConsentChanged {
    const DETAIL_TYPE: &'static str = "ConsentChanged";
    const SOURCE: &'static str = SOURCE_GOVERNANCE;
    const VERSION: u32 = 1;
}

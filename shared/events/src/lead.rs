//! Lead events. They carry ids, attribution and score, not the person's contact details: a
//! consumer that needs those reads the lead through the API with its own permissions.

use keel_core::{Lead, LeadStatus, ScoreBand};
use serde::{Deserialize, Serialize};

use crate::{DomainEvent, SOURCE_LEADS};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadCreated {
    pub lead_id: String,
    pub owner_id: String,
    pub status: LeadStatus,
    pub source: String,
    pub campaign: String,
    pub medium: String,
    pub score: u8,
    pub score_band: ScoreBand,
}

impl From<&Lead> for LeadCreated {
    fn from(l: &Lead) -> Self {
        LeadCreated {
            lead_id: l.id.to_string(),
            owner_id: l.owner_id.clone(),
            status: l.status,
            source: l.source.clone(),
            campaign: l.campaign.clone(),
            medium: l.medium.clone(),
            score: l.score,
            score_band: l.score_band,
        }
    }
}

impl DomainEvent for LeadCreated {
    const DETAIL_TYPE: &'static str = "LeadCreated";
    const SOURCE: &'static str = SOURCE_LEADS;
    const VERSION: u32 = 1;
}

/// A lead changed. `before`/`after` hold the summary fields consumers keep rollups of, so a
/// counter consumer can move a lead between buckets without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadUpdated {
    pub lead_id: String,
    pub version: u64,
    pub changed: Vec<String>,
    pub before: LeadCreated,
    pub after: LeadCreated,
}

impl DomainEvent for LeadUpdated {
    const DETAIL_TYPE: &'static str = "LeadUpdated";
    const SOURCE: &'static str = SOURCE_LEADS;
    const VERSION: u32 = 1;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadArchived {
    pub lead_id: String,
    pub version: u64,
    pub previous_status: LeadStatus,
    pub before: LeadCreated,
}

impl DomainEvent for LeadArchived {
    const DETAIL_TYPE: &'static str = "LeadArchived";
    const SOURCE: &'static str = SOURCE_LEADS;
    const VERSION: u32 = 1;
}

/// A lead was assessed and met the company's thresholds: it is `qualified` and may be converted.
/// The conversion follow-up consumer reacts to it (auto-convert, when the company's policy says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadQualified {
    pub lead_id: String,
    pub version: u64,
    pub assessment_id: String,
    pub owner_id: String,
    /// The qualification score (0–100).
    pub score: u8,
}

impl DomainEvent for LeadQualified {
    const DETAIL_TYPE: &'static str = "LeadQualified";
    const SOURCE: &'static str = SOURCE_LEADS;
    const VERSION: u32 = 1;
}

/// A lead was converted, account first: what it became, in one transaction with this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadConverted {
    pub lead_id: String,
    pub account_id: String,
    /// Whether the conversion created the account (or attached to an existing one).
    pub account_created: bool,
    pub contact_id: String,
    pub opportunity_id: String,
    pub activity_id: String,
    pub owner_id: String,
}

impl DomainEvent for LeadConverted {
    const DETAIL_TYPE: &'static str = "LeadConverted";
    const SOURCE: &'static str = SOURCE_LEADS;
    const VERSION: u32 = 1;
}

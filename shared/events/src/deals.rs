//! Opportunity events (source `keel.deals`), emitted by the deals context.

use keel_core::forecast::DealFacts;
use keel_core::opportunity::Opportunity;
use keel_core::Money;
use serde::{Deserialize, Serialize};

use crate::{DomainEvent, SOURCE_DEALS};

/// An opportunity moved to `closed_won`. The account it belongs to becomes a customer and its
/// revenue counters move (the `account-revenue` consumer); post-sales starts from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealWon {
    pub opportunity_id: String,
    pub account_id: String,
    pub version: u64,
    pub amount: Option<Money>,
    pub owner_id: String,
}

impl DomainEvent for DealWon {
    const DETAIL_TYPE: &'static str = "DealWon";
    const SOURCE: &'static str = SOURCE_DEALS;
    const VERSION: u32 = 1;
}

/// An opportunity was created (by hand or by a conversion), edited, moved to another stage, won,
/// lost or archived. It carries the deal's facts before and after, so the rollups it feeds apply
/// `after − before` and reach the same totals in whatever order events arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealChanged {
    pub opportunity_id: String,
    pub account_id: String,
    pub version: u64,
    /// `created`, `updated`, `stage_moved`, `won`, `lost` or `archived`.
    pub change: String,
    pub changed: Vec<String>,
    /// None for a new deal.
    pub before: Option<DealFacts>,
    pub after: DealFacts,
}

impl DealChanged {
    pub fn of(change: &str, before: Option<&Opportunity>, after: &Opportunity, changed: Vec<String>) -> Self {
        DealChanged {
            opportunity_id: after.id.to_string(),
            account_id: after.account_id.clone(),
            version: after.version,
            change: change.into(),
            changed,
            before: before.map(DealFacts::from),
            after: DealFacts::from(after),
        }
    }
}

impl DomainEvent for DealChanged {
    const DETAIL_TYPE: &'static str = "DealChanged";
    const SOURCE: &'static str = SOURCE_DEALS;
    const VERSION: u32 = 1;
}

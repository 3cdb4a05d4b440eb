//! Opportunity events (source `keel.deals`), emitted by the deals context.

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

//! Account and contact events (source `keel.customers`). They carry ids and the facts consumers
//! keep rollups of, not people's contact details.

use keel_core::account::{Account, Lifecycle};
use serde::{Deserialize, Serialize};

use crate::{DomainEvent, SOURCE_CUSTOMERS};

/// An account was created (by hand or by a conversion) or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChanged {
    pub account_id: String,
    pub version: u64,
    /// `created` or `updated`.
    pub change: String,
    pub lifecycle: Lifecycle,
    /// The lifecycle before, when it moved.
    pub previous_lifecycle: Option<Lifecycle>,
    pub owner_id: String,
    pub changed: Vec<String>,
}

impl AccountChanged {
    pub fn created(a: &Account) -> Self {
        AccountChanged {
            account_id: a.id.to_string(),
            version: a.version,
            change: "created".into(),
            lifecycle: a.lifecycle,
            previous_lifecycle: None,
            owner_id: a.owner_id.clone(),
            changed: vec![],
        }
    }

    pub fn updated(before: &Account, after: &Account, changed: Vec<String>) -> Self {
        AccountChanged {
            account_id: after.id.to_string(),
            version: after.version,
            change: "updated".into(),
            lifecycle: after.lifecycle,
            previous_lifecycle: (before.lifecycle != after.lifecycle).then_some(before.lifecycle),
            owner_id: after.owner_id.clone(),
            changed,
        }
    }
}

impl DomainEvent for AccountChanged {
    const DETAIL_TYPE: &'static str = "AccountChanged";
    const SOURCE: &'static str = SOURCE_CUSTOMERS;
    const VERSION: u32 = 1;
}

/// A contact was created, changed, moved to another account or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChanged {
    pub contact_id: String,
    pub account_id: String,
    /// `created`, `updated`, `moved` or `deleted`.
    pub change: String,
    /// The account it left, when it moved.
    pub previous_account_id: Option<String>,
    pub primary: bool,
    pub changed: Vec<String>,
}

impl DomainEvent for ContactChanged {
    const DETAIL_TYPE: &'static str = "ContactChanged";
    const SOURCE: &'static str = SOURCE_CUSTOMERS;
    const VERSION: u32 = 1;
}

//! The company's governance policy item: `T#t#POLICY#GOVERNANCE` / `POLICY` (the defaults until an
//! administrator saves one).

use keel_core::consent::{ConsentChannel, Requirement};
use keel_core::governance::GovernancePolicy;

use crate::db::{from_item, s, to_item};
use crate::{Db, Item, StoreError, TenantKeys};

const POLICY_SK: &str = "POLICY";

fn policy_pk(keys: &TenantKeys) -> String {
    keys.key("POLICY#GOVERNANCE")
}

/// The company's policy (1 GetItem).
pub async fn policy(db: &Db, keys: &TenantKeys) -> Result<GovernancePolicy, StoreError> {
    match db.get(&policy_pk(keys), POLICY_SK).await? {
        Some(item) => from_item(item),
        None => Ok(GovernancePolicy::default()),
    }
}

/// What a send on `channel` needs in the company (1 GetItem): read once per run of sends.
pub async fn consent_requirement(
    db: &Db,
    keys: &TenantKeys,
    channel: ConsentChannel,
) -> Result<Requirement, StoreError> {
    Ok(policy(db, keys).await?.consent.requirement(channel))
}

pub fn policy_item(keys: &TenantKeys, policy: &GovernancePolicy) -> Result<Item, StoreError> {
    let mut item = to_item(policy)?;
    item.insert("pk".into(), s(policy_pk(keys)));
    item.insert("sk".into(), s(POLICY_SK));
    item.insert("entity".into(), s("governance_policy"));
    Ok(item)
}

//! The account a record joins (a converted lead, a new or moved contact): shared by the contexts
//! that attach records to accounts, so each refuses the same way.

use keel_core::account::{Account, Lifecycle};
use keel_store::{crm, Db, TenantKeys};

use crate::ApiError;

/// The account `account_id` names, if records may join it: it exists in this company and is not
/// inactive (reactivating one is a deliberate step). Otherwise a 422 naming `account_id`. 1 GetItem.
pub async fn joinable(db: &Db, keys: &TenantKeys, account_id: &str) -> Result<Account, ApiError> {
    let missing = || ApiError::rule("account_id", "no account of your company has this id");
    ulid::Ulid::from_string(account_id).map_err(|_| missing())?;
    let account: Account = db.get_as(&crm::account_pk(keys, account_id), crm::ACCOUNT_SK).await?.ok_or_else(missing)?;
    if account.lifecycle == Lifecycle::Inactive {
        return Err(ApiError::rule("account_id", "the account is inactive: make it a prospect again first"));
    }
    Ok(account)
}

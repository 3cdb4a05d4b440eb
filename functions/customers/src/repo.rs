//! The customers context's reads (writes go through `UnitOfWork` in each handler, with the item
//! layout of `keel_store::crm`).

use keel_core::account::Account;
use keel_core::contact::Contact;
use keel_store::crm;
use keel_store::{Db, StoreError, TenantKeys};

pub use keel_store::index_page::{page, IndexPage};

pub async fn account(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Account>, StoreError> {
    db.get_as(&crm::account_pk(keys, id), crm::ACCOUNT_SK).await
}

pub async fn contact(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Contact>, StoreError> {
    db.get_as(&crm::contact_pk(keys, id), crm::CONTACT_SK).await
}

//! The activities context's reads (writes go through `UnitOfWork` in each handler).

use keel_core::activity::Activity;
use keel_store::{crm, Db, StoreError, TenantKeys};

pub async fn activity(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Activity>, StoreError> {
    db.get_as(&crm::activity_pk(keys, id), crm::ACTIVITY_SK).await
}

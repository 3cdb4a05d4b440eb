//! The relay's heartbeat: one item the relay updates after each publication, so operators can
//! see when it last ran and how far behind commits it is. It belongs to no tenant, so its key
//! uses the reserved `_system` tenant (an id no real tenant can have: tenant ids are ULIDs).

use serde::{Deserialize, Serialize};

use crate::db::{from_item, n, s};
use crate::{Db, StoreError, TenantKeys};

const SK: &str = "HEARTBEAT";

fn pk() -> String {
    TenantKeys::new("_system").key("RELAY")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelayHeartbeat {
    pub last_published_at: String,
    pub lag_ms: i64,
    pub last_batch_size: u64,
}

pub async fn record(db: &Db, beat: &RelayHeartbeat) -> Result<(), StoreError> {
    db.client
        .put_item()
        .table_name(&db.table)
        .item("pk", s(pk()))
        .item("sk", s(SK))
        .item("entity", s("relay_heartbeat"))
        .item("last_published_at", s(&beat.last_published_at))
        .item("lag_ms", n(beat.lag_ms))
        .item("last_batch_size", n(beat.last_batch_size))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

pub async fn read(db: &Db) -> Result<Option<RelayHeartbeat>, StoreError> {
    db.get(&pk(), SK).await?.map(from_item).transpose()
}

//! `Idempotency-Key` records: the first response to a keyed request, kept for a day, written in
//! the same unit of work as the change it describes (`UnitOfWork::idempotency`) so a replay finds
//! either both or neither.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::from_item;
use crate::{Db, StoreError, TenantKeys};

pub const RETENTION_HOURS: i64 = 24;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Fingerprint of the request body: the same key with another body is refused.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub expires_at: i64,
}

/// SHA-256 of the request body, hex.
pub fn fingerprint(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl IdempotencyRecord {
    pub fn new(request_hash: String, status: u16, body: String, now: DateTime<Utc>) -> Self {
        IdempotencyRecord {
            request_hash,
            status,
            body,
            expires_at: (now + Duration::hours(RETENTION_HOURS)).timestamp(),
        }
    }
}

/// The stored response for `key`, if one exists and has not expired (DynamoDB deletes expired
/// items lazily, so expiry is checked here too).
pub async fn get(
    db: &Db,
    keys: &TenantKeys,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let Some(item) = db.get(&keys.idempotency(scope, key), "IDEM").await? else {
        return Ok(None);
    };
    let record: IdempotencyRecord = from_item(item)?;
    Ok((record.expires_at > now.timestamp()).then_some(record))
}

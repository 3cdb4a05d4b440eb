//! `Idempotency-Key` records: the first response to a keyed request, kept for a day, written in
//! the same transaction as the change it describes so a replay finds either both or neither.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{from_item, n, s};
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

/// The transaction item that stores the response to a keyed request; it fails (condition) when
/// the key was used before, which is how a concurrent replay is detected.
pub fn put(
    db: &Db,
    keys: &TenantKeys,
    scope: &str,
    key: &str,
    record: &IdempotencyRecord,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(&db.table)
        .item("pk", s(keys.idempotency(scope, key)))
        .item("sk", s("IDEM"))
        .item("entity", s("idempotency"))
        .item("request_hash", s(&record.request_hash))
        .item("status", n(record.status))
        .item("body", s(&record.body))
        .item("expires_at", n(record.expires_at))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
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

/// A `ClientRequestToken` for a keyed request: the same tenant, scope and key give the same
/// token, so a retried transaction within DynamoDB's 10-minute window is not applied twice.
pub fn request_token(keys: &TenantKeys, scope: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{}{scope}#{key}", keys.tenant_prefix()).as_bytes());
    hex(&digest[..18])
}

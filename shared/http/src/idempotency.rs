//! `Idempotency-Key` on create endpoints, the same everywhere: the first response is stored in the
//! same unit of work as the change; a replay with the same body answers it, the same key with
//! another body is a 422, and a record past its retention frees its key.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use keel_store::idempotency::{self, IdempotencyRecord};
use keel_store::{Db, TenantKeys, UnitOfWork};

use crate::ApiError;

pub struct IdempotentCreate {
    scope: &'static str,
    key: Option<String>,
    request_hash: String,
}

/// A stored first response.
pub struct FirstResponse {
    pub status: u16,
    pub body: String,
}

impl IdempotentCreate {
    /// Reads the optional `Idempotency-Key` header for an operation (`scope`, e.g. `leads.create`)
    /// by `user`: a key is the caller's own, so nobody can replay (or squat) another user's.
    pub fn from_headers(
        headers: &HeaderMap,
        scope: &'static str,
        user: &str,
        raw_body: &[u8],
    ) -> Result<Self, ApiError> {
        let key = match headers.get("idempotency-key") {
            None => None,
            Some(v) => {
                let key = v.to_str().unwrap_or_default().trim();
                if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(ApiError::field("Idempotency-Key", "must be 1-255 visible ASCII characters"));
                }
                Some(format!("{user}#{key}"))
            }
        };
        Ok(IdempotentCreate { scope, key, request_hash: idempotency::fingerprint(raw_body) })
    }

    /// Binds the key to the record the operation acts on (`…/leads/{id}/qualify`): the same key
    /// sent for another record is another request, never a replay of this one.
    pub fn on_record(mut self, record_id: &str) -> Self {
        if let Some(key) = &mut self.key {
            *key = format!("{record_id}#{key}");
        }
        self
    }

    /// Adds the record of the response to `unit` (when a key was sent).
    pub fn record(&self, unit: &mut UnitOfWork<'_>, keys: &TenantKeys, status: u16, body: &[u8], now: DateTime<Utc>) {
        if let Some(key) = &self.key {
            let record = IdempotencyRecord::new(
                self.request_hash.clone(),
                status,
                String::from_utf8_lossy(body).into_owned(),
                now,
            );
            unit.idempotency(keys.idempotency(self.scope, key), &record, now);
        }
    }

    /// After the unit was refused because the key is taken: the first response to replay.
    pub async fn replay(&self, db: &Db, keys: &TenantKeys, now: DateTime<Utc>) -> Result<FirstResponse, ApiError> {
        let key = self.key.as_deref().ok_or_else(|| ApiError::Internal("replay without a key".into()))?;
        let stored = idempotency::get(db, keys, self.scope, key, now)
            .await?
            // Expired between the write and this read: the client may simply retry.
            .ok_or_else(|| ApiError::Unavailable("idempotency record expired meanwhile".into()))?;
        if stored.request_hash != self.request_hash {
            return Err(ApiError::IdempotencyMismatch);
        }
        Ok(FirstResponse { status: stored.status, body: stored.body })
    }

    /// [`replay`](Self::replay), read back as what the first response sent.
    pub async fn replayed<T: serde::de::DeserializeOwned>(
        &self,
        db: &Db,
        keys: &TenantKeys,
        now: DateTime<Utc>,
    ) -> Result<T, ApiError> {
        let first = self.replay(db, keys, now).await?;
        serde_json::from_str(&first.body).map_err(|e| ApiError::Internal(e.to_string()))
    }
}

//! Fixed-window counters for the account lifecycle: how many sign-ups, sign-ins, failures and
//! emails a source address, an email or the whole service may have in a window. Each count is one
//! item (`ADD`, expiring by TTL); a limited count is taken with a condition, so parallel requests
//! never overshoot it. These guard cold paths (sign-up, sign-in, reset), where an exact count
//! costs little; the per-tenant API limits are the rate limiter's business.

use chrono::Utc;
use keel_store::db::{n, s};
use keel_store::{Db, StoreError};

use crate::records::identity;

/// A limit: at most `max` in each window of `window_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub window_seconds: i64,
    pub max: i64,
}

impl Limit {
    fn window(&self, now: i64) -> i64 {
        now / self.window_seconds
    }

    fn key(&self, subject: &str, window: i64) -> String {
        identity().key(&format!("LIMIT#{}#{subject}#{window}", self.name))
    }

    /// Seconds until the current window ends.
    pub fn retry_after(&self, now: i64) -> i64 {
        ((self.window(now) + 1) * self.window_seconds - now).max(1)
    }
}

/// Counts one more for `subject` unless it has reached `limit`: `Err(retry_after)` then.
pub async fn take(db: &Db, limit: Limit, subject: &str) -> Result<Result<(), i64>, StoreError> {
    let now = Utc::now().timestamp();
    let window = limit.window(now);
    let result = db
        .client
        .update_item()
        .table_name(&db.table)
        .key("pk", s(limit.key(subject, window)))
        .key("sk", s("COUNT"))
        .update_expression("ADD #n :one SET expires_at = :exp")
        .condition_expression("attribute_not_exists(#n) OR #n < :max")
        .expression_attribute_names("#n", "count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":max", n(limit.max))
        .expression_attribute_values(":exp", n((window + 2) * limit.window_seconds))
        .send()
        .await
        .map_err(StoreError::from_sdk);
    match result {
        Ok(_) => Ok(Ok(())),
        Err(StoreError::ConditionFailed) => Ok(Err(limit.retry_after(now))),
        Err(e) => Err(e),
    }
}

/// Counts one more for `subject`, whatever the count (failures are counted, not refused).
pub async fn add(db: &Db, limit: Limit, subject: &str) -> Result<(), StoreError> {
    let window = limit.window(Utc::now().timestamp());
    db.client
        .update_item()
        .table_name(&db.table)
        .key("pk", s(limit.key(subject, window)))
        .key("sk", s("COUNT"))
        .update_expression("ADD #n :one SET expires_at = :exp")
        .expression_attribute_names("#n", "count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n((window + 2) * limit.window_seconds))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// The current window's count for `subject`.
pub async fn count(db: &Db, limit: Limit, subject: &str) -> Result<i64, StoreError> {
    let window = limit.window(Utc::now().timestamp());
    let item = db.get(&limit.key(subject, window), "COUNT").await?;
    Ok(item.as_ref().and_then(|i| i.get("count")).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Starts `subject`'s current window over (a password reset lifts its owner's lock).
pub async fn clear(db: &Db, limit: Limit, subject: &str) -> Result<(), StoreError> {
    let window = limit.window(Utc::now().timestamp());
    db.client
        .delete_item()
        .table_name(&db.table)
        .key("pk", s(limit.key(subject, window)))
        .key("sk", s("COUNT"))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

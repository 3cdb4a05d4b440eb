//! Fixed-window counters for public paths: how many sign-ups, sign-ins, failures, emails or form
//! submissions a source address, an email, a form or the whole service may have in a window. Each
//! count is one item (`ADD`, expiring by TTL) under a reserved tenant (`_identity`, `_capture`); a
//! limited count is taken with a condition, so parallel requests never overshoot it. These guard
//! paths without a token, where an exact count costs little; the per-tenant API limits of signed-in
//! callers are the rate limiter's business.

use crate::db::{n, s};
use crate::{Db, StoreError, TenantKeys};
use chrono::Utc;

/// Who a source address is, for the limits: an IPv4 address, or the /64 an IPv6 address is in
/// (one subscriber gets a whole /64 and could otherwise take a fresh address per attempt).
pub fn source(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default(),
        _ => address.to_string(),
    }
}

/// A limit: at most `max` in each window of `window_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// The reserved tenant the counts live under (no company id can take its name).
    pub tenant: &'static str,
    pub name: &'static str,
    pub window_seconds: i64,
    pub max: i64,
}

impl Limit {
    fn window(&self, now: i64) -> i64 {
        now / self.window_seconds
    }

    fn key(&self, subject: &str, window: i64) -> String {
        TenantKeys::new(self.tenant).key(&format!("LIMIT#{}#{subject}#{window}", self.name))
    }

    /// Seconds until the current window ends.
    pub fn retry_after(&self, now: i64) -> i64 {
        ((self.window(now) + 1) * self.window_seconds - now).max(1)
    }
}

/// Counts one more for `subject` unless it has reached `limit`: `Err(retry_after)` then.
pub async fn take(db: &Db, limit: Limit, subject: &str) -> Result<Result<(), i64>, StoreError> {
    take_at(db, limit, subject, Utc::now().timestamp()).await
}

async fn take_at(db: &Db, limit: Limit, subject: &str, now: i64) -> Result<Result<(), i64>, StoreError> {
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

/// Windows this process has seen refused, by counter key, with when each ends: a flood from one
/// address is then answered without a DynamoDB write per request. Only for limits nothing lifts
/// early (a cleared count would stay refused here until its window ends).
static REFUSED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, i64>>> =
    std::sync::LazyLock::new(Default::default);
/// Enough for a flood from many addresses; past it, windows that ended go first, then all.
const REFUSED_KEPT: usize = 10_000;

/// `take`, answered from memory for a window this process already saw refused.
pub async fn take_remembered(db: &Db, limit: Limit, subject: &str) -> Result<Result<(), i64>, StoreError> {
    let now = Utc::now().timestamp();
    let key = limit.key(subject, limit.window(now));
    let until = REFUSED.lock().map(|r| r.get(&key).copied()).unwrap_or(None);
    if let Some(until) = until.filter(|u| *u > now) {
        return Ok(Err(until - now));
    }
    let taken = take_at(db, limit, subject, now).await?;
    if let Err(retry_after) = taken {
        if let Ok(mut refused) = REFUSED.lock() {
            if refused.len() >= REFUSED_KEPT {
                refused.retain(|_, until| *until > now);
                if refused.len() >= REFUSED_KEPT {
                    refused.clear();
                }
            }
            refused.insert(key, now + retry_after);
        }
    }
    Ok(taken)
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
    count_in(db, limit, subject, limit.window(Utc::now().timestamp())).await
}

/// What `subject` took from `limit` since the Unix time `since`, its windows summed (one
/// GetItem each): a count that does not depend on where the windows happen to turn.
pub async fn count_since(db: &Db, limit: Limit, subject: &str, since: i64) -> Result<i64, StoreError> {
    let mut total = 0;
    for window in limit.window(since)..=limit.window(Utc::now().timestamp()) {
        total += count_in(db, limit, subject, window).await?;
    }
    Ok(total)
}

async fn count_in(db: &Db, limit: Limit, subject: &str, window: i64) -> Result<i64, StoreError> {
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

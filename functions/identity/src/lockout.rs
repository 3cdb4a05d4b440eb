//! Failed sign-ins lock out for a while, per account and per source address: counters in
//! fixed 15-minute windows (`ADD`, TTL). Successful sign-ins do not reset them: an attacker
//! with one right guess must not buy more guesses.

use chrono::Utc;
use keel_store::db::{n, s};
use keel_store::{Db, StoreError};

use crate::records::identity;

pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const MAX_FAILURES: i64 = 5;

fn key(who: &str, window: i64) -> String {
    identity().key(&format!("LOGINFAIL#{who}#{window}"))
}

fn subjects(email: &str, source_ip: &str) -> [String; 2] {
    [format!("account:{email}"), format!("address:{source_ip}")]
}

/// Seconds until sign-in is allowed again, when either counter is at the limit.
pub async fn locked(db: &Db, email: &str, source_ip: &str) -> Result<Option<i64>, StoreError> {
    let now = Utc::now().timestamp();
    let window = now / WINDOW_SECONDS;
    for who in subjects(email, source_ip) {
        if let Some(item) = db.get(&key(&who, window), "WINDOW").await? {
            let count =
                item.get("failures").and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            if count >= MAX_FAILURES {
                return Ok(Some(((window + 1) * WINDOW_SECONDS - now).max(1)));
            }
        }
    }
    Ok(None)
}

pub async fn record_failure(db: &Db, email: &str, source_ip: &str) -> Result<(), StoreError> {
    let now = Utc::now().timestamp();
    let window = now / WINDOW_SECONDS;
    for who in subjects(email, source_ip) {
        db.client
            .update_item()
            .table_name(&db.table)
            .key("pk", s(key(&who, window)))
            .key("sk", s("WINDOW"))
            .update_expression("ADD failures :one SET expires_at = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n((window + 2) * WINDOW_SECONDS))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
    }
    Ok(())
}

//! Fixed-window request counters per tenant and per user: one conditional `UpdateItem` per
//! request on the tenant's window item (`T#<tenant>#RATE#<window>`), which counts the tenant and
//! each of its users, refuses to count past either limit, and expires with DynamoDB's TTL.

use chrono::{DateTime, Utc};

use crate::db::{n, s};
use crate::{Db, StoreError, TenantKeys};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub tenant_per_window: u32,
    pub user_per_window: u32,
    pub window_seconds: i64,
}

impl Limits {
    /// From `KEEL_RATE_LIMIT_TENANT`, `KEEL_RATE_LIMIT_USER` (requests per window) and
    /// `KEEL_RATE_LIMIT_WINDOW_SECONDS`; defaults 6,000 and 1,200 per 60 s.
    pub fn from_env() -> Limits {
        let var =
            |k: &str, d: i64| std::env::var(k).ok().and_then(|v| v.parse::<i64>().ok()).filter(|v| *v > 0).unwrap_or(d);
        Limits {
            tenant_per_window: var("KEEL_RATE_LIMIT_TENANT", 6000) as u32,
            user_per_window: var("KEEL_RATE_LIMIT_USER", 1200) as u32,
            window_seconds: var("KEEL_RATE_LIMIT_WINDOW_SECONDS", 60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over a limit; the window ends in this many seconds.
    Limited {
        retry_after: i64,
    },
}

pub async fn take(
    db: &Db,
    keys: &TenantKeys,
    user_id: &str,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Verdict, StoreError> {
    let window = now.timestamp().div_euclid(limits.window_seconds);
    let ends = (window + 1) * limits.window_seconds;
    let result = db
        .client
        .update_item()
        .table_name(&db.table)
        .key("pk", s(keys.key(&format!("RATE#{}#{window}", limits.window_seconds))))
        .key("sk", s("WINDOW"))
        .update_expression("ADD tenant_count :one, #user :one SET expires_at = :expires")
        .condition_expression(
            "(attribute_not_exists(tenant_count) OR tenant_count < :tenant_limit) \
             AND (attribute_not_exists(#user) OR #user < :user_limit)",
        )
        .expression_attribute_names("#user", format!("u#{user_id}"))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":tenant_limit", n(limits.tenant_per_window))
        .expression_attribute_values(":user_limit", n(limits.user_per_window))
        .expression_attribute_values(":expires", n(ends + 3600))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Verdict::Allowed),
        Err(e) => match StoreError::from_sdk(e) {
            StoreError::ConditionFailed => Ok(Verdict::Limited { retry_after: (ends - now.timestamp()).max(1) }),
            other => Err(other),
        },
    }
}

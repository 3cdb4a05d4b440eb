//! Tokens that must stop working before they expire: a deactivated user's, any token issued
//! before a user's role or password changed, and the tokens of a sign-in that ended (signed out, or
//! ended because its refresh token was stolen). The user item carries `active` and
//! `tokens_valid_after_ms`, the sign-in's family item `revoked` (both written by the identity
//! context); each request checks them, cached per process for up to [`CACHE_TTL`] so a busy user
//! costs one read (two, in parallel, with a sign-in) per few seconds rather than per request. A
//! token whose user has no item is refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keel_store::db::s;
use keel_store::{Db, StoreError, TenantKeys};

use crate::TenantContext;

/// How long a process trusts what it read about a user: a deactivation or role change made
/// through another instance reaches this one within this time (at once on the instance that made it).
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// At most this many users' standings are remembered per process.
pub const CACHE_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserStanding {
    pub active: bool,
    pub tokens_valid_after_ms: i64,
}

/// (tenant, user, sign-in) → when it was read and what was read (None: no user item, or the
/// sign-in ended).
type StandingCache = HashMap<(String, String, String), (Instant, Option<UserStanding>)>;

#[derive(Default)]
pub struct Revocations {
    cache: Mutex<StandingCache>,
}

impl Revocations {
    /// Whether the token behind `ctx` is still good.
    pub async fn token_valid(&self, db: &Db, ctx: &TenantContext) -> Result<bool, StoreError> {
        let key = (ctx.tenant_id.clone(), ctx.user_id.clone(), ctx.session_id.clone());
        let cached = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied();
        let standing = match cached {
            Some((at, standing)) if at.elapsed() < CACHE_TTL => standing,
            _ => {
                let standing = if ctx.session_id.is_empty() {
                    read(db, &ctx.keys, &ctx.user_id).await?
                } else {
                    let (user, ended) = tokio::try_join!(
                        read(db, &ctx.keys, &ctx.user_id),
                        session_ended(db, &ctx.keys, &ctx.session_id)
                    )?;
                    user.filter(|_| !ended)
                };
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_ENTRIES {
                    // Bounded: a flood of distinct users costs reads, never memory.
                    cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                }
                cache.insert(key, (Instant::now(), standing));
                standing
            }
        };
        // No user item: identity mints tokens only for its users, so the user was never there or
        // is gone; either way the token speaks for nobody.
        Ok(standing.is_some_and(|s| s.active && ctx.issued_at_ms > s.tokens_valid_after_ms))
    }

    /// Forget what this process knows about a user (after changing them here).
    pub fn forget(&self, tenant: &str, user: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).retain(|(t, u, _), _| !(t == tenant && u == user));
    }
}

async fn session_ended(db: &Db, keys: &TenantKeys, session_id: &str) -> Result<bool, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.table)
        .key("pk", s(keys.session(session_id)))
        .key("sk", s("FAMILY"))
        .projection_expression("revoked")
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out.item.and_then(|i| i.get("revoked").and_then(|v| v.as_bool().ok()).copied()).unwrap_or(false))
}

async fn read(db: &Db, keys: &TenantKeys, user: &str) -> Result<Option<UserStanding>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.table)
        .key("pk", s(keys.user(user)))
        .key("sk", s("USER"))
        .projection_expression("active, tokens_valid_after_ms")
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out.item.map(|item| UserStanding {
        active: item.get("active").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        tokens_valid_after_ms: item
            .get("tokens_valid_after_ms")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }))
}

//! Access and refresh tokens. Access tokens are short-lived Ed25519 JWTs naming their sign-in
//! (`sid`, the refresh family); refresh tokens are random, stored only as their SHA-256, rotated on
//! every use, and grouped in a family so that reusing a rotated token revokes every token of that
//! sign-in, access tokens included. A token rotated moments ago may be presented once more within
//! [`GRACE_MS`]: two tabs refreshing at once keep the session.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use keel_http::{ApiError, AppState, Role, TokenIssuer};
use keel_store::db::{from_item, n, s};
use keel_store::{TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::records::{family_pk, refresh_pk, RefreshRecord};

pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
pub const REFRESH_TTL_DAYS: i64 = 30;
/// How long after its rotation a refresh token still refreshes (concurrent tabs), instead of
/// counting as reuse.
pub const GRACE_MS: i64 = 30_000;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub company_id: String,
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

pub fn token_hash(token: &str) -> String {
    keel_store::idempotency::hex(&Sha256::digest(token.as_bytes()))
}

/// 256 random bits, URL-safe: refresh tokens and the one-time links' tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("system randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new refresh token in `family` and the item that stores it.
pub fn new_refresh(
    table: &str,
    c: &TenantKeys,
    company_id: &str,
    user_id: &str,
    family: &str,
) -> (String, TransactWriteItem) {
    let token = random_token();
    let record = RefreshRecord {
        family: family.into(),
        user_id: user_id.into(),
        company_id: company_id.into(),
        used: false,
        expires_at: (Utc::now() + Duration::days(REFRESH_TTL_DAYS)).timestamp(),
        issued_at_ms: Utc::now().timestamp_millis(),
        rotated_at_ms: 0,
    };
    let mut item = keel_store::db::to_item(&record).expect("plain record");
    item.insert("pk".into(), s(refresh_pk(c, &token_hash(&token))));
    item.insert("sk".into(), s("REFRESH"));
    item.insert("entity".into(), s("refresh_token"));
    (token, keel_store::db::put_new(table, item))
}

/// A new sign-in: its family id (the access tokens' `sid`), its first refresh token and the item
/// that stores it.
pub fn start(table: &str, c: &TenantKeys, company_id: &str, user_id: &str) -> (String, String, TransactWriteItem) {
    let family = ulid::Ulid::new().to_string();
    let (refresh, item) = new_refresh(table, c, company_id, user_id, &family);
    (family, refresh, item)
}

pub fn session(
    issuer: &TokenIssuer,
    company_id: &str,
    user_id: &str,
    role: Role,
    family: &str,
    refresh: String,
) -> Session {
    Session {
        company_id: company_id.into(),
        user_id: user_id.into(),
        access_token: issuer.session_token(company_id, user_id, role, ACCESS_TTL_SECONDS, family),
        refresh_token: refresh,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TTL_SECONDS,
    }
}

/// The refresh record for `token` if it exists, is unexpired and its family is not revoked.
pub async fn find(app: &AppState, company_id: &str, token: &str) -> Result<Option<RefreshRecord>, ApiError> {
    if !keel_http::path::is_id(company_id) || company_id.starts_with('_') {
        // No company has such an id: nothing to look up (and no key built from it).
        return Ok(None);
    }
    let c = TenantKeys::new(company_id);
    let Some(item) = app.db.get(&refresh_pk(&c, &token_hash(token)), "REFRESH").await? else { return Ok(None) };
    let record: RefreshRecord = from_item(item)?;
    if record.expires_at < Utc::now().timestamp() {
        return Ok(None);
    }
    Ok(Some(record))
}

/// The item that marks a sign-in's whole token family revoked.
pub fn revoke_item(table: &str, company_id: &str, family: &str) -> TransactWriteItem {
    let c = TenantKeys::new(company_id);
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(family_pk(&c, family)))
        .item("sk", s("FAMILY"))
        .item("entity", s("refresh_family"))
        .item("revoked", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .item("expires_at", n((Utc::now() + Duration::days(REFRESH_TTL_DAYS)).timestamp()))
        .build()
        .expect("table and item are set");
    TransactWriteItem::builder().put(put).build()
}

pub async fn revoke_family(app: &AppState, company_id: &str, family: &str) -> Result<(), WriteError> {
    let mut unit = UnitOfWork::new(&app.db);
    unit.include(revoke_item(&app.db.table, company_id, family));
    unit.commit().await
}

/// Uses up `token` (only if unused) and requires its family to be unrevoked.
pub fn rotate(unit: &mut UnitOfWork<'_>, c: &TenantKeys, token: &str, family: &str) {
    let table = unit.table().to_string();
    let table = table.as_str();
    let used = Update::builder()
        .table_name(table)
        .key("pk", s(refresh_pk(c, &token_hash(token))))
        .key("sk", s("REFRESH"))
        .update_expression("SET used = :t, rotated_at_ms = :now")
        .condition_expression("used = :f")
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .expression_attribute_values(":now", n(Utc::now().timestamp_millis()))
        .expression_attribute_values(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .build()
        .expect("key and expression are set");
    unit.include_guarded(
        TransactWriteItem::builder().update(used).build(),
        "refresh_token",
        "this refresh token was used already",
    );
    require_alive(unit, c, family);
}

/// Requires the sign-in `family` to be unrevoked when `unit` commits.
pub fn require_alive(unit: &mut UnitOfWork<'_>, c: &TenantKeys, family: &str) {
    let family_alive = ConditionCheck::builder()
        .table_name(unit.table())
        .key("pk", s(family_pk(c, family)))
        .key("sk", s("FAMILY"))
        .condition_expression("attribute_not_exists(revoked)")
        .build()
        .expect("key and condition are set");
    unit.include_guarded(
        TransactWriteItem::builder().condition_check(family_alive).build(),
        "refresh_token",
        "this sign-in has ended",
    );
}

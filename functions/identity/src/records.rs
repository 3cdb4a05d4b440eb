//! Identity's items.
//!
//! | item                | pk                                   | sk             |
//! |---------------------|--------------------------------------|----------------|
//! | company             | `T#<c>#COMPANY`                      | `COMPANY`      |
//! | user                | `T#<c>#USER#<u>` (gsi1 `T#<c>#USERS`) | `USER`         |
//! | email membership    | `T#_identity#EMAIL#<email>`          | `<c>`          |
//! | refresh token       | `T#<c>#REFRESH#<sha256(token)>`      | `REFRESH`      |
//! | refresh family      | `T#<c>#REFRESHFAMILY#<family>`       | `FAMILY`       |
//! | failed-login window | `T#_identity#LOGINFAIL#<who>#<win>`  | `WINDOW`       |
//!
//! Email memberships sit under the reserved `_identity` tenant: at sign-in the company is not
//! known yet, so the lookup cannot start with it. They hold only ids.

use keel_http::Role;
use keel_store::TenantKeys;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Company {
    pub company_id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    pub company_id: String,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub active: bool,
    /// Never leaves this context: not in responses, events, audit records or logs.
    #[serde(default)]
    pub password_hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    pub company_id: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub family: String,
    pub user_id: String,
    pub company_id: String,
    pub used: bool,
    pub expires_at: i64,
}

pub fn identity() -> TenantKeys {
    TenantKeys::new("_identity")
}

pub fn company_pk(c: &TenantKeys) -> String {
    c.key("COMPANY")
}

pub fn user_pk(c: &TenantKeys, user_id: &str) -> String {
    c.user(user_id)
}

pub fn membership_pk(email: &str) -> String {
    identity().key(&format!("EMAIL#{email}"))
}

pub fn refresh_pk(c: &TenantKeys, token_hash: &str) -> String {
    c.key(&format!("REFRESH#{token_hash}"))
}

pub fn family_pk(c: &TenantKeys, family: &str) -> String {
    c.key(&format!("REFRESHFAMILY#{family}"))
}

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

use keel_core::{Email, FieldErrors};
use keel_http::Role;
use keel_store::db::{s, to_item};
use keel_store::{Item, StoreError, TenantKeys, UnitOfWork};
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
    /// Tokens issued before this moment (ms) are void: set by deactivation and role changes.
    #[serde(default)]
    pub tokens_valid_after_ms: i64,
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
    /// When it was issued (ms): a deactivation or role change after it ends it for good, even once
    /// the user is active again. (0 on records older than this field: treated as issued long ago.)
    #[serde(default)]
    pub issued_at_ms: i64,
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

fn keyed<T: Serialize>(value: &T, pk: String, sk: &str, entity: &str) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s(sk));
    item.insert("entity".into(), s(entity));
    Ok(item)
}

/// Adds a new user (listed through gsi1) to `unit`, with the email membership that finds them at
/// sign-in. The membership is the email's uniqueness marker within the company: an email is a
/// user of a company once.
pub fn add_new_user(unit: &mut UnitOfWork<'_>, c: &TenantKeys, user: &User) -> Result<(), StoreError> {
    let mut item = keyed(user, user_pk(c, &user.user_id), "USER", "user")?;
    item.insert("gsi1pk".into(), s(c.key("USERS")));
    item.insert("gsi1sk".into(), s(&user.user_id));
    unit.create(item);
    let membership = Membership { company_id: user.company_id.clone(), user_id: user.user_id.clone() };
    let membership = keyed(&membership, membership_pk(&user.email), &user.company_id, "email_membership")?;
    unit.claim_marker("user", "email", membership, "user_id", &user.user_id);
    Ok(())
}

/// Adds a new company with its one active administrator counted to `unit`.
pub fn add_new_company(unit: &mut UnitOfWork<'_>, c: &TenantKeys, company: &Company) -> Result<(), StoreError> {
    let mut item = keyed(company, company_pk(c), "COMPANY", "company")?;
    item.insert("active_admins".into(), keel_store::db::n(1));
    unit.create(item);
    Ok(())
}

/// A new user's email (required) and password (strength rules), reporting into `e`.
pub fn credentials(e: &mut FieldErrors, email: Option<&str>, password: Option<String>) -> (Option<Email>, String) {
    let email = match email.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            e.add("email", "is required");
            None
        }
        Some(raw) => Email::parse(raw).map_err(|m| e.add("email", m)).ok(),
    };
    let password = password.unwrap_or_default();
    if let Some(why) = crate::password::weakness(&password, email.as_ref().map(Email::as_str).unwrap_or_default()) {
        e.add("password", why);
    }
    (email, password)
}

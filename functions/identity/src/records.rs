//! Identity's items.
//!
//! | item                | pk                                   | sk             |
//! |---------------------|--------------------------------------|----------------|
//! | company             | `T#<c>#COMPANY`                      | `COMPANY`      |
//! | user                | `T#<c>#USER#<u>` (gsi1 `T#<c>#USERS`) | `USER`         |
//! | email in a company  | `T#<c>#USEREMAIL#<email>`            | `USEREMAIL`    |
//! | email membership    | `T#_identity#EMAIL#<email>` (proven) | `<c>`          |
//! | refresh token       | `T#<c>#REFRESH#<sha256(token)>`      | `REFRESH`      |
//! | refresh family      | `T#<c>#REFRESHFAMILY#<family>`       | `FAMILY`       |
//! | workspace name      | `T#_identity#WORKSPACE#<email>`      | `<name, lower>` |
//! | pending sign-up     | `T#_identity#SIGNUP#<sha256(token)>` | `SIGNUP`       |
//! | password reset      | `T#_identity#RESET#<sha256(token)>`  | `RESET`        |
//! | company choice      | `T#_identity#CHOICE#<sha256(token)>` | `CHOICE`       |
//! | limit window        | `T#_identity#LIMIT#<name>#<who>#<win>` | `COUNT`      |
//!
//! Email memberships sit under the reserved `_identity` tenant: at sign-in the company is not
//! known yet, so the lookup cannot start with it. They hold only ids. So do the one-time tokens
//! (sign-up, reset, choice): their links and answers name no company. Tokens are stored only as
//! their SHA-256, and every one of them expires (`expires_at`, the table's TTL, and checked on use).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use keel_core::{Email, FieldErrors};
use keel_http::Role;
use keel_store::db::{from_item, s, to_item};
use keel_store::{Db, Item, StoreError, TenantKeys, UnitOfWork};
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
    /// When it was used (ms): the same token presented again within the grace window is a second
    /// tab refreshing at the same moment, not a theft.
    #[serde(default)]
    pub rotated_at_ms: i64,
}

/// A sign-up waiting for its email to be verified: nothing of the company exists until then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignUp {
    pub company_name: String,
    pub full_name: String,
    pub email: String,
    pub password_hash: String,
    pub expires_at: i64,
}

/// A link that sets one user's password: a reset, or the invitation of a user an administrator
/// added (who chooses their own password, proving the mailbox is theirs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetRecord {
    pub company_id: String,
    pub user_id: String,
    pub used: bool,
    pub expires_at: i64,
    #[serde(default)]
    pub purpose: LinkPurpose,
    /// When the link was made (ms): a password change after it voids it.
    #[serde(default)]
    pub issued_at_ms: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    #[default]
    Reset,
    Invitation,
}

/// A sign-in whose password was right in several companies, waiting for the person to pick one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChoiceRecord {
    pub options: Vec<Membership>,
    pub used: bool,
    pub expires_at: i64,
    /// When the password was found right (ms): a password change after it voids the choice.
    #[serde(default)]
    pub issued_at_ms: i64,
}

pub fn identity() -> TenantKeys {
    TenantKeys::new("_identity")
}

/// The most companies one email is looked up in (sign-in, password reset).
pub const MAX_MEMBERSHIPS: i32 = 25;

/// The companies `email` is a proven user of (only ids: the lookup starts before any company is known).
pub async fn memberships(db: &Db, email: &str) -> Result<Vec<Membership>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(membership_pk(email)))
        .limit(MAX_MEMBERSHIPS)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.items.unwrap_or_default().into_iter().map(from_item::<Membership>).collect()
}

/// Uses up the one-time item `pk`/`sk` (a reset link, a company choice): the transaction holding
/// it fails if the item was used already, so a link works once however many requests race.
pub fn use_once(table: &str, pk: &str, sk: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .update_expression("SET used = :t")
        .condition_expression("used = :f")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .build()
        .expect("key and expressions are set");
    TransactWriteItem::builder().update(update).build()
}

pub async fn read_user(db: &Db, company_id: &str, user_id: &str) -> Result<Option<User>, StoreError> {
    db.get_as(&user_pk(&TenantKeys::new(company_id), user_id), "USER").await
}

pub async fn read_company(db: &Db, company_id: &str) -> Result<Option<Company>, StoreError> {
    db.get_as(&company_pk(&TenantKeys::new(company_id)), "COMPANY").await
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
    c.session(family)
}

pub fn workspace_name_pk(email: &str) -> String {
    identity().key(&format!("WORKSPACE#{email}"))
}

pub fn signup_pk(token_hash: &str) -> String {
    identity().key(&format!("SIGNUP#{token_hash}"))
}

pub fn reset_pk(token_hash: &str) -> String {
    identity().key(&format!("RESET#{token_hash}"))
}

pub fn choice_pk(token_hash: &str) -> String {
    identity().key(&format!("CHOICE#{token_hash}"))
}

pub fn keyed<T: Serialize>(value: &T, pk: String, sk: &str, entity: &str) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s(sk));
    item.insert("entity".into(), s(entity));
    Ok(item)
}

/// Adds a new user (listed through gsi1) to `unit`, claiming their email within the company (an
/// email is a user of a company once). Sign-in does not find them yet: see [`add_membership`].
pub fn add_new_user(unit: &mut UnitOfWork<'_>, c: &TenantKeys, user: &User) -> Result<(), StoreError> {
    let mut item = keyed(user, user_pk(c, &user.user_id), "USER", "user")?;
    item.insert("gsi1pk".into(), s(c.key("USERS")));
    item.insert("gsi1sk".into(), s(&user.user_id));
    unit.create(item);
    let marker = keyed(&serde_json::json!({}), c.key(&format!("USEREMAIL#{}", user.email)), "USEREMAIL", "user_email")?;
    unit.claim_marker("user", "email", marker, "user_id", &user.user_id);
    Ok(())
}

/// Adds the email membership that finds `user` at sign-in, once the email is proven theirs (the
/// sign-up's link, or the invitation's): nobody else can attach an email to a company it signs in
/// to, nor crowd the email's lookups with companies its owner never joined.
pub fn add_membership(unit: &mut UnitOfWork<'_>, user: &User) -> Result<(), StoreError> {
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

/// A person's or company's name (required, one line, no web or email addresses: names travel in
/// invitations, where a link would be a stranger's words in Keel's voice), reporting into `e`.
pub fn name(e: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let value = keel_core::field_error::line(e, field, value, true, 120)?;
    if looks_like_an_address(&value) {
        e.add(field, "must not contain web or email addresses");
        return None;
    }
    Some(value)
}

/// Whether `text` holds something a mail reader would take for a link or an address: a scheme,
/// `www.`, an `@`, or a word ending in a dot and two or more letters (`evil.com/x`), after
/// full-width letters are read as their ASCII twins and invisible characters dropped.
fn looks_like_an_address(text: &str) -> bool {
    let plain: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{061C}'))
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3002}' | '\u{FF61}' => '.',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    if plain.contains("://") || plain.contains(":/") || plain.contains("//") || plain.contains("www.") {
        return true;
    }
    if plain.contains('@') || plain.contains("mailto:") {
        return true;
    }
    plain.split(|c: char| c.is_whitespace() || c == '/' || c == ',' || c == '(' || c == ')').any(|word| {
        let word = word.trim_end_matches(['.', '!', '?', ':', ';']);
        match word.rsplit_once('.') {
            Some((head, tld)) => {
                !head.is_empty()
                    && head.chars().last().is_some_and(char::is_alphanumeric)
                    && tld.chars().count() >= 2
                    && tld.chars().all(char::is_alphabetic)
            }
            None => false,
        }
    })
}

/// A new user's email (required), reporting into `e`.
pub fn email_field(e: &mut FieldErrors, email: Option<&str>) -> Option<Email> {
    match email.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            e.add("email", "is required");
            None
        }
        Some(raw) => Email::parse(raw).map_err(|m| e.add("email", m)).ok(),
    }
}

/// A new user's email (required) and password (strength rules), reporting into `e`.
pub fn credentials(e: &mut FieldErrors, email: Option<&str>, password: Option<String>) -> (Option<Email>, String) {
    let email = email_field(e, email);
    let password = password.unwrap_or_default();
    if let Some(why) = crate::password::weakness(&password, email.as_ref().map(Email::as_str).unwrap_or_default()) {
        e.add("password", why);
    }
    (email, password)
}

#[cfg(test)]
mod tests {
    use super::looks_like_an_address;

    #[test]
    fn names_carry_no_addresses_however_they_are_written() {
        for address in [
            "Pay at www.evil.example",
            "Reset at keel-support.com/reset",
            "evil.com",
            "https:/evil.example",
            "//evil.example/x",
            "\u{FF57}\u{FF57}\u{FF57}\u{FF0E}evil\u{FF0E}com",
            "mailto:x@evil.com",
            "evil\u{200B}.com",
            "Contact ana@evil.example",
        ] {
            assert!(looks_like_an_address(address), "{address}");
        }
        for name in
            ["Acme Ltd.", "J. R. R. Tolkien", "Ana Silva", "Müller & Söhne GmbH", "O'Brien (Sales)", "株式会社キール"]
        {
            assert!(!looks_like_an_address(name), "{name}");
        }
    }
}

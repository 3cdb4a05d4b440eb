//! How capture's records are laid out (see ARCHITECTURE.md, access patterns).
//!
//! | item              | pk                                   | sk           | what                                  |
//! |-------------------|--------------------------------------|--------------|---------------------------------------|
//! | form              | `T#t#FORMS`                          | `FORM#<id>`  | the form (all of a company's: 1 Query) |
//! | form key          | `T#_capture#FORMKEY#<key>`           | `FORMKEY`    | tenant id + a copy of the form        |
//! | WhatsApp channel  | `T#t#CHANNEL#WHATSAPP`               | `CHANNEL`    | settings, app secret, hook key         |
//! | WhatsApp hook key | `T#_capture#HOOK#<hook key>`         | `HOOK`       | tenant id + a copy of the channel     |
//! | round-robin turn  | `T#t#CAPTURE#ROUNDROBIN`             | `COUNTER`    | `turn` (`ADD`)                        |
//! | consent ledger    | `T#t#LEAD#<id>`                      | `CONSENT…`   | `keel_store::consent` (record + state) |
//!
//! A public request knows only a key: the key item tells the tenant and carries what the request
//! needs (1 GetItem), and both are written in one transaction with the record they copy.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keel_core::form::Form;
use keel_store::db::{from_item, s, to_item};
use keel_store::{Db, Item, StoreError, TenantKeys};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const FORM_KEY_SK: &str = "FORMKEY";
pub const HOOK_SK: &str = "HOOK";
pub const CHANNEL_SK: &str = "CHANNEL";

/// The reserved tenant the public keys live under (no company id can take its name).
pub fn capture() -> TenantKeys {
    TenantKeys::new("_capture")
}

/// 192 random bits, URL-safe: a public key nobody can guess or enumerate.
pub fn random_key() -> String {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("system randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `raw` can be a key `random_key` made (anything else is not looked up).
pub fn is_key(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn forms_pk(keys: &TenantKeys) -> String {
    keys.key("FORMS")
}

pub fn form_sk(id: &str) -> String {
    format!("FORM#{id}")
}

pub fn form_key_pk(key: &str) -> String {
    capture().key(&format!("FORMKEY#{key}"))
}

pub fn form_item(keys: &TenantKeys, form: &Form) -> Result<Item, StoreError> {
    let mut item = to_item(form)?;
    item.insert("pk".into(), s(forms_pk(keys)));
    item.insert("sk".into(), s(form_sk(&form.id.to_string())));
    item.insert("entity".into(), s("form"));
    Ok(item)
}

/// The public key's item: which company the form belongs to, and the form itself.
pub fn key_item<T: Serialize>(pk: String, sk: &str, keys: &TenantKeys, record: &T) -> Result<Item, StoreError> {
    let mut item = to_item(record)?;
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s(sk));
    item.insert("entity".into(), s("public_key"));
    item.insert("tenant_id".into(), s(keys.tenant_id()));
    Ok(item)
}

/// What a public key opens: the company's keys and its record (1 GetItem).
pub async fn open<T: DeserializeOwned>(db: &Db, pk: &str, sk: &str) -> Result<Option<(TenantKeys, T)>, StoreError> {
    let Some(item) = db.get(pk, sk).await? else { return Ok(None) };
    let tenant = item.get("tenant_id").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    if tenant.is_empty() {
        return Ok(None);
    }
    Ok(Some((TenantKeys::new(&tenant), from_item(item)?)))
}

pub async fn form(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Form>, StoreError> {
    db.get(&forms_pk(keys), &form_sk(id)).await?.map(from_item).transpose()
}

/// Every form of the company, oldest first (at most `MAX_FORMS`: 1 Query).
pub async fn forms(db: &Db, keys: &TenantKeys) -> Result<Vec<Form>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :form)")
        .expression_attribute_values(":pk", s(forms_pk(keys)))
        .expression_attribute_values(":form", s("FORM#"))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.items.unwrap_or_default().into_iter().map(from_item).collect()
}

pub fn whatsapp_pk(keys: &TenantKeys) -> String {
    keys.key("CHANNEL#WHATSAPP")
}

pub fn hook_pk(key: &str) -> String {
    capture().key(&format!("HOOK#{key}"))
}

pub fn round_robin_pk(keys: &TenantKeys) -> String {
    keys.key("CAPTURE#ROUNDROBIN")
}

//! How a lead is laid out in the table (see ARCHITECTURE.md, access patterns).
//!
//! | item            | pk                           | sk       | gsi1 (all, newest first)   | gsi2 (by status)                       |
//! |-----------------|------------------------------|----------|----------------------------|----------------------------------------|
//! | lead            | `T#t#LEAD#<id>`              | `LEAD`   | `T#t#LEADS` / `<id>`       | `T#t#LEADS#STATUS#<status>` / `<id>`   |
//! | email marker    | `T#t#LEADEMAIL#<email>`      | `MARKER` |                            |                                        |
//! | phone marker    | `T#t#LEADPHONE#<phone>`      | `MARKER` |                            |                                        |

use keel_core::Lead;
use keel_store::db::{from_item, s, to_item};
use keel_store::{Item, StoreError, TenantKeys};

pub const LEAD_SK: &str = "LEAD";
pub const MARKER_SK: &str = "MARKER";

pub fn to_lead_item(keys: &TenantKeys, lead: &Lead) -> Result<Item, StoreError> {
    let id = lead.id.to_string();
    let mut item = to_item(lead)?;
    item.insert("pk".into(), s(keys.lead(&id)));
    item.insert("sk".into(), s(LEAD_SK));
    item.insert("entity".into(), s("lead"));
    item.insert("gsi1pk".into(), s(keys.leads_index()));
    item.insert("gsi1sk".into(), s(&id));
    item.insert("gsi2pk".into(), s(keys.leads_by_status_index(lead.status.as_str())));
    item.insert("gsi2sk".into(), s(&id));
    Ok(item)
}

pub fn from_lead_item(item: Item) -> Result<Lead, StoreError> {
    from_item(item)
}

/// The uniqueness markers a lead holds: (field, marker key).
pub fn markers(keys: &TenantKeys, lead: &Lead) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(email) = &lead.email {
        out.push(("email", keys.lead_email_marker(email.as_str())));
    }
    if let Some(phone) = &lead.phone {
        out.push(("phone", keys.lead_phone_marker(phone.as_str())));
    }
    out
}

//! Contacts: the people of an account, with the roles they play in buying. Always linked to an
//! account; one of an account's contacts is its primary contact.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::contact_point::{Email, Phone};
use crate::field_error::{line, FieldErrors};
use crate::lead::{email, phone};

const NAME_MAX: usize = 100;
const OWNER_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    DecisionMaker,
    Influencer,
    Champion,
    EndUser,
    Technical,
    Executive,
}

/// The body of `POST …/contacts` (and the contact part of a conversion, where every field is
/// taken from the lead unless sent).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    #[serde(default)]
    pub roles: Vec<ContactRole>,
    /// Make this the account's primary contact (the account's first contact always is).
    #[serde(default)]
    pub primary: bool,
    pub owner_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDraft {
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub job_title: Option<String>,
    pub roles: Vec<ContactRole>,
    pub primary: bool,
    pub owner_id: Option<String>,
}

impl NewContact {
    pub fn validate(&self) -> Result<ContactDraft, FieldErrors> {
        let mut e = FieldErrors::default();
        let account_id = match self.account_id.as_deref().map(str::trim) {
            Some(id) if Ulid::from_string(id).is_ok() => id.to_string(),
            Some(_) => {
                e.add("account_id", "must be the id of one of your accounts");
                String::new()
            }
            None => {
                e.add("account_id", "is required: a contact always belongs to an account");
                String::new()
            }
        };
        let draft = ContactDraft {
            account_id,
            first_name: line(&mut e, "first_name", self.first_name.as_deref(), true, NAME_MAX).unwrap_or_default(),
            last_name: line(&mut e, "last_name", self.last_name.as_deref(), true, NAME_MAX).unwrap_or_default(),
            email: email(&mut e, self.email.as_deref()),
            phone: phone(&mut e, self.phone.as_deref()),
            job_title: line(&mut e, "job_title", self.job_title.as_deref(), false, NAME_MAX),
            roles: roles(&self.roles),
            primary: self.primary,
            owner_id: line(&mut e, "owner_id", self.owner_id.as_deref(), false, OWNER_MAX),
        };
        e.into_result(draft)
    }
}

/// Roles as a set: each once, in a stable order.
fn roles(raw: &[ContactRole]) -> Vec<ContactRole> {
    let mut r = raw.to_vec();
    r.sort();
    r.dedup();
    r
}

/// A contact as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<Phone>,
    pub job_title: Option<String>,
    pub roles: Vec<ContactRole>,
    pub primary: bool,
    pub owner_id: String,
    /// The lead this contact was converted from, when it was.
    pub source_lead_id: Option<String>,
    pub version: u64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    pub fn create(draft: ContactDraft, id: Ulid, actor: &str, now: DateTime<Utc>) -> Contact {
        Contact {
            id,
            owner_id: draft.owner_id.unwrap_or_else(|| actor.to_string()),
            account_id: draft.account_id,
            first_name: draft.first_name,
            last_name: draft.last_name,
            email: draft.email,
            phone: draft.phone,
            job_title: draft.job_title,
            roles: draft.roles,
            primary: draft.primary,
            source_lead_id: None,
            version: 1,
            created_by: actor.to_string(),
            created_at: now,
            updated_at: now,
        }
    }

    pub const RECORDED_FIELDS: [&'static str; 9] =
        ["account_id", "first_name", "last_name", "email", "phone", "job_title", "roles", "primary", "owner_id"];

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The contact after `patch`, validated as a whole.
    pub fn patched(&self, patch: &ContactPatch, now: DateTime<Utc>) -> Result<Contact, FieldErrors> {
        let pick = |p: &Option<Option<String>>, cur: Option<String>| match p {
            None => cur,
            Some(v) => v.clone(),
        };
        let merged = NewContact {
            account_id: patch.account_id.clone().or_else(|| Some(self.account_id.clone())),
            first_name: patch.first_name.clone().or_else(|| Some(self.first_name.clone())),
            last_name: patch.last_name.clone().or_else(|| Some(self.last_name.clone())),
            email: pick(&patch.email, self.email.as_ref().map(|v| v.to_string())),
            phone: pick(&patch.phone, self.phone.as_ref().map(|v| v.as_str().to_string())),
            job_title: pick(&patch.job_title, self.job_title.clone()),
            roles: patch.roles.clone().unwrap_or_else(|| self.roles.clone()),
            primary: patch.primary.unwrap_or(self.primary),
            owner_id: patch.owner_id.clone().or_else(|| Some(self.owner_id.clone())),
        };
        let d = merged.validate()?;
        let mut next = self.clone();
        next.account_id = d.account_id;
        next.first_name = d.first_name;
        next.last_name = d.last_name;
        next.email = d.email;
        next.phone = d.phone;
        next.job_title = d.job_title;
        next.roles = d.roles;
        next.primary = d.primary;
        next.owner_id = d.owner_id.unwrap_or_else(|| self.owner_id.clone());
        next.version += 1;
        next.updated_at = now;
        Ok(next)
    }
}

/// The body of `PATCH …/contacts/{id}`. Sending another `account_id` moves the contact (its
/// history stays with it); `primary: true` makes it its account's primary contact.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub version: Option<u64>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub job_title: Option<Option<String>>,
    pub roles: Option<Vec<ContactRole>>,
    pub primary: Option<bool>,
    pub owner_id: Option<String>,
}

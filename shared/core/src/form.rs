//! Web forms: what a company's website form asks, how a submission becomes a lead, and the
//! consent proof it keeps. A form always carries full attribution defaults, so every submission
//! is attributed; the page's own `utm_source` / `utm_campaign` / `utm_medium` override them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::field_error::{is_record_id, line, text};
use crate::lead::{LeadDraft, NewLead};
use crate::FieldErrors;

/// The hidden field people leave empty and form-filling bots do not: a submission that fills it
/// is answered like any other and stored nowhere.
pub const HONEYPOT: &str = "nickname";
/// The checkbox that gives consent to the form's consent text.
pub const CONSENT: &str = "consent";
/// A company keeps at most this many forms (they are listed in one read).
pub const MAX_FORMS: usize = 100;
const NAME_MAX: usize = 100;
const LABEL_MAX: usize = 100;
const CONSENT_MAX: usize = 2_000;
const ORIGINS_MAX: usize = 20;
const URL_MAX: usize = 500;
const ATTRIBUTION_MAX: usize = 100;

/// A lead field a form can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormFieldName {
    FirstName,
    LastName,
    Email,
    Phone,
    CompanyName,
    JobTitle,
    Website,
    Notes,
}

impl FormFieldName {
    pub const ALL: [FormFieldName; 8] = [
        FormFieldName::FirstName,
        FormFieldName::LastName,
        FormFieldName::Email,
        FormFieldName::Phone,
        FormFieldName::CompanyName,
        FormFieldName::JobTitle,
        FormFieldName::Website,
        FormFieldName::Notes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FormFieldName::FirstName => "first_name",
            FormFieldName::LastName => "last_name",
            FormFieldName::Email => "email",
            FormFieldName::Phone => "phone",
            FormFieldName::CompanyName => "company_name",
            FormFieldName::JobTitle => "job_title",
            FormFieldName::Website => "website",
            FormFieldName::Notes => "notes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub name: FormFieldName,
    /// What the visitor reads beside the input.
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

/// Who a submitted lead belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OwnerRule {
    /// Always this user (while they are active; otherwise round-robin).
    User { user_id: String },
    /// The company's active sales reps in turn.
    RoundRobin,
}

/// A form as an administrator or manager defines it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewForm {
    pub name: Option<String>,
    /// 1-8 fields; first and last name are always asked, and an email or a phone.
    pub fields: Option<Vec<FormField>>,
    /// Attribution of every submission unless the page's `utm_*` values say otherwise.
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub medium: Option<String>,
    /// The text the consent checkbox agrees to, kept with each submission as proof.
    pub consent_text: Option<String>,
    /// Whether a submission without consent is refused (needs `consent_text`).
    #[serde(default)]
    pub consent_required: bool,
    /// Default: round-robin among the sales reps.
    pub owner: Option<OwnerRule>,
    /// Pages allowed to post the form (`https://example.com`); a browser post from anywhere else is
    /// refused. Server-side posts carry no origin.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Where a browser goes after posting the HTML form (`303`); without it the answer is JSON.
    pub redirect_url: Option<String>,
}

/// A form's changes (send the version you read; every field optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormPatch {
    pub version: Option<u64>,
    pub name: Option<String>,
    pub fields: Option<Vec<FormField>>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub medium: Option<String>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub consent_text: Option<Option<String>>,
    pub consent_required: Option<bool>,
    pub owner: Option<OwnerRule>,
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub redirect_url: Option<Option<String>>,
    /// `true` takes a fresh public key; the old one stops working at once.
    #[serde(default)]
    pub rotate_key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Form {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub name: String,
    pub fields: Vec<FormField>,
    pub source: String,
    pub campaign: String,
    pub medium: String,
    pub consent_text: Option<String>,
    pub consent_required: bool,
    pub owner: OwnerRule,
    pub allowed_origins: Vec<String>,
    pub redirect_url: Option<String>,
    /// The public key submissions are posted to (`/api/forms/{key}/submit`).
    pub key: String,
    pub version: u64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Form {
    pub const RECORDED_FIELDS: [&'static str; 12] = [
        "name",
        "fields",
        "source",
        "campaign",
        "medium",
        "consent_text",
        "consent_required",
        "owner",
        "allowed_origins",
        "redirect_url",
        "key",
        "version",
    ];

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Whether a browser page at `origin` may post this form.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(origin.trim_end_matches('/')))
    }

    /// The lead a submission's values describe, and whether it gave consent. Values the form
    /// does not ask for are ignored (pages send buttons and trackers too), but the `utm_*`
    /// attribution.
    pub fn submission(&self, values: &BTreeMap<String, String>) -> Result<Submission, FieldErrors> {
        let mut e = FieldErrors::default();
        let value = |name: &str| values.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
        let mut asked = |f: FormFieldName| {
            let field = self.fields.iter().find(|x| x.name == f)?;
            let v = value(f.as_str());
            if v.is_none() && field.required {
                e.add(f.as_str(), "is required");
            }
            v
        };
        let consent = values.get(CONSENT).is_some_and(|v| matches!(v.trim(), "on" | "true" | "yes" | "1"));
        let mut lead = NewLead {
            first_name: asked(FormFieldName::FirstName),
            last_name: asked(FormFieldName::LastName),
            email: asked(FormFieldName::Email),
            phone: asked(FormFieldName::Phone),
            company_name: asked(FormFieldName::CompanyName),
            job_title: asked(FormFieldName::JobTitle),
            website: asked(FormFieldName::Website),
            notes: asked(FormFieldName::Notes),
            source: Some(value("utm_source").unwrap_or_else(|| self.source.clone())),
            campaign: Some(value("utm_campaign").unwrap_or_else(|| self.campaign.clone())),
            medium: Some(value("utm_medium").unwrap_or_else(|| self.medium.clone())),
            ..NewLead::default()
        };
        if self.consent_required && !consent {
            e.add(CONSENT, "please agree to be contacted");
        }
        // Attribution a page passed is checked like the form's own.
        for (field, utm) in [("source", "utm_source"), ("campaign", "utm_campaign"), ("medium", "utm_medium")] {
            if value(utm).is_some() {
                let mut own = FieldErrors::default();
                line(&mut own, utm, values.get(utm).map(String::as_str), true, ATTRIBUTION_MAX);
                if !own.is_empty() {
                    e.0.extend(own.0);
                    match field {
                        "source" => lead.source = Some(self.source.clone()),
                        "campaign" => lead.campaign = Some(self.campaign.clone()),
                        _ => lead.medium = Some(self.medium.clone()),
                    }
                }
            }
        }
        let draft = match lead.validate() {
            Ok(draft) => Some(draft),
            Err(more) => {
                for m in more.0 {
                    if !e.0.iter().any(|x| x.field == m.field) {
                        e.0.push(m);
                    }
                }
                None
            }
        };
        match draft {
            Some(lead) if e.is_empty() => Ok(Submission { lead, consent: consent && self.consent_text.is_some() }),
            _ => Err(e),
        }
    }
}

/// A submission's lead and its consent.
#[derive(Debug, Clone)]
pub struct Submission {
    pub lead: LeadDraft,
    /// The visitor ticked the consent box, and the form has a consent text to prove what it said.
    pub consent: bool,
}

impl NewForm {
    /// The form, validated as a whole (every problem at once).
    pub fn validate(&self, id: Ulid, key: String, actor: &str, now: DateTime<Utc>) -> Result<Form, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = line(&mut e, "name", self.name.as_deref(), true, NAME_MAX).unwrap_or_default();
        let fields = validate_fields(&mut e, self.fields.as_deref());
        let source = line(&mut e, "source", self.source.as_deref(), true, ATTRIBUTION_MAX).unwrap_or_default();
        let campaign = line(&mut e, "campaign", self.campaign.as_deref(), true, ATTRIBUTION_MAX).unwrap_or_default();
        let medium = line(&mut e, "medium", self.medium.as_deref(), true, ATTRIBUTION_MAX).unwrap_or_default();
        let consent_text = text(&mut e, "consent_text", self.consent_text.as_deref(), false, CONSENT_MAX);
        if self.consent_required && consent_text.is_none() {
            e.add("consent_required", "needs a consent_text to agree to");
        }
        let owner = self.owner.clone().unwrap_or(OwnerRule::RoundRobin);
        if let OwnerRule::User { user_id } = &owner {
            if !is_record_id(user_id) {
                e.add("owner.user_id", "must be a user id");
            }
        }
        let allowed_origins = validate_origins(&mut e, &self.allowed_origins);
        let redirect_url = self.redirect_url.as_deref().and_then(|u| validate_url(&mut e, "redirect_url", u));
        e.into_result(Form {
            id,
            name,
            fields,
            source,
            campaign,
            medium,
            consent_text,
            consent_required: self.consent_required,
            owner,
            allowed_origins,
            redirect_url,
            key,
            version: 1,
            created_by: actor.to_string(),
            created_at: now,
            updated_at: now,
        })
    }
}

impl FormPatch {
    /// `current` changed by this patch, validated as a whole; its version is the caller's to move.
    /// A fresh `key` is given when the patch rotates it.
    pub fn apply(&self, current: &Form, fresh_key: String, now: DateTime<Utc>) -> Result<Form, FieldErrors> {
        let merged = NewForm {
            name: Some(self.name.clone().unwrap_or_else(|| current.name.clone())),
            fields: Some(self.fields.clone().unwrap_or_else(|| current.fields.clone())),
            source: Some(self.source.clone().unwrap_or_else(|| current.source.clone())),
            campaign: Some(self.campaign.clone().unwrap_or_else(|| current.campaign.clone())),
            medium: Some(self.medium.clone().unwrap_or_else(|| current.medium.clone())),
            consent_text: self.consent_text.clone().unwrap_or_else(|| current.consent_text.clone()),
            consent_required: self.consent_required.unwrap_or(current.consent_required),
            owner: Some(self.owner.clone().unwrap_or_else(|| current.owner.clone())),
            allowed_origins: self.allowed_origins.clone().unwrap_or_else(|| current.allowed_origins.clone()),
            redirect_url: self.redirect_url.clone().unwrap_or_else(|| current.redirect_url.clone()),
        };
        let key = if self.rotate_key { fresh_key } else { current.key.clone() };
        let mut next = merged.validate(current.id, key, &current.created_by, current.created_at)?;
        next.version = current.version;
        next.updated_at = now;
        Ok(next)
    }
}

fn validate_fields(e: &mut FieldErrors, fields: Option<&[FormField]>) -> Vec<FormField> {
    let Some(fields) = fields else {
        e.add("fields", "is required");
        return Vec::new();
    };
    let mut out: Vec<FormField> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if out.iter().any(|o| o.name == f.name) {
            e.add(&format!("fields[{i}].name"), "is asked twice");
            continue;
        }
        let label = line(e, &format!("fields[{i}].label"), Some(&f.label), true, LABEL_MAX).unwrap_or_default();
        // Names are what the lead cannot do without: a form asks them, and they must be answered.
        let required = f.required || matches!(f.name, FormFieldName::FirstName | FormFieldName::LastName);
        out.push(FormField { name: f.name, label, required });
    }
    for needed in [FormFieldName::FirstName, FormFieldName::LastName] {
        if !out.iter().any(|f| f.name == needed) {
            e.add("fields", format!("must ask for {}", needed.as_str()));
        }
    }
    let reach: Vec<&FormField> =
        out.iter().filter(|f| matches!(f.name, FormFieldName::Email | FormFieldName::Phone)).collect();
    if reach.is_empty() {
        e.add("fields", "must ask for an email or a phone, to reach the person");
    } else if reach.len() == 1 && !reach[0].required {
        e.add("fields", "the only way to reach the person (email or phone) must be required");
    }
    out
}

/// `https://host[:port]`, no path: what a browser sends as `Origin`. `http` only for localhost.
fn validate_origins(e: &mut FieldErrors, origins: &[String]) -> Vec<String> {
    if origins.len() > ORIGINS_MAX {
        e.add("allowed_origins", format!("at most {ORIGINS_MAX}"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, raw) in origins.iter().enumerate() {
        let o = raw.trim().trim_end_matches('/').to_ascii_lowercase();
        let (scheme, rest) = o.split_once("://").unwrap_or(("", ""));
        let (host, port) = rest.split_once(':').unwrap_or((rest, "443"));
        let host_ok = !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !host.starts_with(['.', '-']);
        let port_ok = !port.is_empty() && port.len() <= 5 && port.chars().all(|c| c.is_ascii_digit());
        let scheme_ok = scheme == "https" || (scheme == "http" && (host == "localhost" || host == "127.0.0.1"));
        if host_ok && port_ok && scheme_ok && (host.contains('.') || host == "localhost") {
            if !out.contains(&o) {
                out.push(o);
            }
        } else {
            e.add(&format!("allowed_origins[{i}]"), "must be an origin like https://www.example.com");
        }
    }
    out
}

fn validate_url(e: &mut FieldErrors, field: &str, raw: &str) -> Option<String> {
    let url = line(e, field, Some(raw), false, URL_MAX)?;
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()).unwrap_or_default();
    if host.contains('.') || host.starts_with("localhost") {
        // The answer's Location header carries it as is: plain printable ASCII only (an address
        // with other letters is sent percent-encoded), and no `user@` before the host, which
        // makes a trusted-looking address lead elsewhere.
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            e.add(field, "must be a plain address: no spaces, and other letters percent-encoded");
            return None;
        }
        if host.contains('@') || host.contains('\\') {
            e.add(field, "must not name a user before the host");
            return None;
        }
        Some(url)
    } else {
        e.add(field, "must be an http(s) address like https://example.com/thanks");
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: FormFieldName, required: bool) -> FormField {
        FormField { name, label: format!("{name:?}"), required }
    }

    fn contact_form() -> NewForm {
        NewForm {
            name: Some("Contact us".into()),
            fields: Some(vec![
                field(FormFieldName::FirstName, true),
                field(FormFieldName::LastName, true),
                field(FormFieldName::Email, true),
                field(FormFieldName::Notes, false),
            ]),
            source: Some("Website".into()),
            campaign: Some("Spring".into()),
            medium: Some("web form".into()),
            consent_text: Some("I agree to be contacted about Keel.".into()),
            consent_required: true,
            allowed_origins: vec!["https://www.acme.example/".into()],
            ..NewForm::default()
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_form_needs_names_a_way_to_reach_people_and_full_attribution() {
        let now = Utc::now();
        let form = contact_form().validate(Ulid::new(), "k".into(), "u", now).unwrap();
        assert_eq!(form.allowed_origins, vec!["https://www.acme.example"]);
        assert!(form.allows_origin("https://WWW.acme.example"));
        let bare = NewForm {
            fields: Some(vec![field(FormFieldName::FirstName, true), field(FormFieldName::Email, false)]),
            consent_required: true,
            allowed_origins: vec!["javascript:alert(1)".into(), "http://evil.example".into()],
            redirect_url: Some("javascript:alert(1)".into()),
            ..NewForm::default()
        };
        let errors = bare.validate(Ulid::new(), "k".into(), "u", now).unwrap_err();
        for bad in
            ["https://www.acme.example@evil.example/", "https://www.acme.example/ünïcode", "https://a.example/ x"]
        {
            let f = NewForm { redirect_url: Some(bad.into()), ..bare.clone() };
            let errors = f.validate(Ulid::new(), "k".into(), "u", now).unwrap_err();
            assert!(errors.0.iter().any(|e| e.field == "redirect_url"), "{bad}");
        }
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "name",
            "source",
            "campaign",
            "medium",
            "consent_required",
            "allowed_origins[0]",
            "allowed_origins[1]",
            "redirect_url",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        assert!(errors.0.iter().any(|e| e.message.contains("last_name")));
        assert!(errors.0.iter().any(|e| e.message.contains("must be required")));
    }

    #[test]
    fn a_submission_becomes_an_attributed_lead_with_its_consent() {
        let form = contact_form().validate(Ulid::new(), "k".into(), "u", Utc::now()).unwrap();
        let ok = form
            .submission(&values(&[
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", "ada@acme.example"),
                ("consent", "on"),
                ("utm_campaign", "Autumn"),
                ("submit", "Send"),
            ]))
            .unwrap();
        assert!(ok.consent);
        assert_eq!(ok.lead.campaign, "Autumn", "the page's campaign wins");
        assert_eq!(ok.lead.source, "Website", "the form's source otherwise");
        let refused = form.submission(&values(&[("first_name", "Ada"), ("email", "not-an-email")])).unwrap_err();
        let fields: Vec<&str> = refused.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["last_name", "consent", "email"]);
        let bad_utm = form
            .submission(&values(&[
                ("first_name", "Ada"),
                ("last_name", "L"),
                ("email", "ada@acme.example"),
                ("consent", "yes"),
                ("utm_source", "a\nb"),
            ]))
            .unwrap_err();
        assert_eq!(bad_utm.0[0].field, "utm_source");
    }

    #[test]
    fn a_patch_keeps_the_key_unless_it_rotates_it() {
        let now = Utc::now();
        let form = contact_form().validate(Ulid::new(), "old".into(), "u", now).unwrap();
        let renamed =
            FormPatch { name: Some("Talk to sales".into()), ..FormPatch::default() }.apply(&form, "new".into(), now);
        assert_eq!(renamed.unwrap().key, "old");
        let rotated = FormPatch { rotate_key: true, ..FormPatch::default() }.apply(&form, "new".into(), now).unwrap();
        assert_eq!((rotated.key.as_str(), rotated.name.as_str()), ("new", "Contact us"));
    }
}

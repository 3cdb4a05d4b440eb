//! The Lead: a person with intent, not yet an account. Capture, validation, patching, status.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::contact_point::{Email, Phone};
use crate::field_error::{line, text, FieldErrors};
use crate::score::{lead_score, ScoreBand, ScoreInputs};

/// Where a lead is in its life. Qualification and conversion have their own actions; archiving is
/// `DELETE` (leads are never hard-deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Nurturing,
    Qualified,
    Unqualified,
    Converted,
    Archived,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 7] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Nurturing,
        LeadStatus::Qualified,
        LeadStatus::Unqualified,
        LeadStatus::Converted,
        LeadStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Nurturing => "nurturing",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Unqualified => "unqualified",
            LeadStatus::Converted => "converted",
            LeadStatus::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether a person may move a lead from `self` to `to` by editing it. Qualified needs the
    /// qualification action, unqualified the disqualify action (and only a manager's reversal
    /// brings it back), converted needs conversion, archived needs `DELETE`; an archived lead can
    /// only be restored to `new`, and a converted lead is history.
    pub fn manual_change(self, to: LeadStatus) -> Result<(), &'static str> {
        use LeadStatus::*;
        match (self, to) {
            (a, b) if a == b => Ok(()),
            (Converted, _) => Err("a converted lead is history and cannot change status"),
            (Archived, New) => Ok(()),
            (Archived, _) => Err("an archived lead can only be restored to new"),
            (Unqualified, _) => Err("a disqualified lead comes back only when a manager reverses the decision"),
            (_, Unqualified) => Err("use the disqualify action, with one of your company's reasons"),
            (_, Qualified) => Err("use the qualification action to qualify a lead"),
            (_, Converted) => Err("use the conversion action to convert a lead"),
            (_, Archived) => Err("archive a lead with DELETE"),
            (_, New | Contacted | Nurturing) => Ok(()),
        }
    }
}

const NAME_MAX: usize = 100;
const ATTRIBUTION_MAX: usize = 100;
const BANT_MAX: usize = 500;
const NOTES_MAX: usize = 5000;
const WEBSITE_MAX: usize = 255;
const OWNER_MAX: usize = 64;

/// The body of `POST …/leads`. Everything is optional at the parsing layer so that validation can
/// name every wrong field at once.
#[derive(Debug, Default, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    #[schema(example = "Ana")]
    pub first_name: Option<String>,
    #[schema(example = "Silva")]
    pub last_name: Option<String>,
    #[schema(example = "Acme Ltd")]
    pub company_name: Option<String>,
    #[schema(example = "ana.silva@acme.example")]
    pub email: Option<String>,
    #[schema(example = "+14155550123")]
    pub phone: Option<String>,
    /// Attribution: where the lead came from (mandatory).
    #[schema(example = "Google Ads")]
    pub source: Option<String>,
    /// Attribution: the campaign (mandatory).
    #[schema(example = "CRM-Q4-2025")]
    pub campaign: Option<String>,
    /// Attribution: the medium (mandatory).
    #[schema(example = "CPC")]
    pub medium: Option<String>,
    /// Defaults to the user capturing the lead.
    pub owner_id: Option<String>,
    pub job_title: Option<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
    pub budget: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
}

/// The body of `PATCH …/leads/{id}`. A field left out stays as it is; `null` or `""` clears an
/// optional field.
#[derive(Debug, Default, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    /// The version the client last read; alternatively send it in `If-Match`.
    pub version: Option<u64>,
    pub status: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub medium: Option<String>,
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub budget: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub authority: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub need: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub timeline: Option<Option<String>>,
}

/// Distinguishes "absent" (outer `None`, via `default`) from "null" (`Some(None)`).
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// A lead's validated content: what a person can write. Server-owned fields live on [`Lead`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadDraft {
    pub first_name: String,
    pub last_name: String,
    pub company_name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub source: String,
    pub campaign: String,
    pub medium: String,
    pub owner_id: Option<String>,
    pub job_title: Option<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
    pub budget: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
}

impl NewLead {
    pub fn validate(&self) -> Result<LeadDraft, FieldErrors> {
        let mut e = FieldErrors::default();
        let draft = LeadDraft {
            first_name: line(&mut e, "first_name", self.first_name.as_deref(), true, NAME_MAX).unwrap_or_default(),
            last_name: line(&mut e, "last_name", self.last_name.as_deref(), true, NAME_MAX).unwrap_or_default(),
            company_name: line(&mut e, "company_name", self.company_name.as_deref(), false, NAME_MAX),
            email: email(&mut e, self.email.as_deref()),
            phone: phone(&mut e, self.phone.as_deref()),
            source: line(&mut e, "source", self.source.as_deref(), true, ATTRIBUTION_MAX).unwrap_or_default(),
            campaign: line(&mut e, "campaign", self.campaign.as_deref(), true, ATTRIBUTION_MAX).unwrap_or_default(),
            medium: line(&mut e, "medium", self.medium.as_deref(), true, ATTRIBUTION_MAX).unwrap_or_default(),
            owner_id: line(&mut e, "owner_id", self.owner_id.as_deref(), false, OWNER_MAX),
            job_title: line(&mut e, "job_title", self.job_title.as_deref(), false, NAME_MAX),
            website: website(&mut e, self.website.as_deref()),
            notes: text(&mut e, "notes", self.notes.as_deref(), false, NOTES_MAX),
            budget: text(&mut e, "budget", self.budget.as_deref(), false, BANT_MAX),
            authority: text(&mut e, "authority", self.authority.as_deref(), false, BANT_MAX),
            need: text(&mut e, "need", self.need.as_deref(), false, BANT_MAX),
            timeline: text(&mut e, "timeline", self.timeline.as_deref(), false, BANT_MAX),
        };
        if self.email.as_deref().is_none_or(|v| v.trim().is_empty())
            && self.phone.as_deref().is_none_or(|v| v.trim().is_empty())
        {
            e.add("email", "an email or a phone number is required to reach the lead");
        }
        e.into_result(draft)
    }
}

pub(crate) fn email(e: &mut FieldErrors, raw: Option<&str>) -> Option<Email> {
    let raw = raw.map(str::trim).filter(|v| !v.is_empty())?;
    Email::parse(raw).map_err(|m| e.add("email", m)).ok()
}

pub(crate) fn phone(e: &mut FieldErrors, raw: Option<&str>) -> Option<Phone> {
    let raw = raw.map(str::trim).filter(|v| !v.is_empty())?;
    Phone::parse(raw).map_err(|m| e.add("phone", m)).ok()
}

/// A web address people can open: `http(s)://` or no scheme at all, then a host name with a dot
/// (and maybe a port). Anything else — `javascript:`, `data:`, `file://` — is refused: the UI
/// links to it.
pub(crate) fn website(e: &mut FieldErrors, raw: Option<&str>) -> Option<String> {
    let value = line(e, "website", raw, false, WEBSITE_MAX)?;
    let rest = match value.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => rest,
        Some(_) => "",
        None => value.as_str(),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = authority.split_once(':').unwrap_or((authority, "0"));
    let host_ok = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if host_ok && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && !value.contains(char::is_whitespace) {
        Some(value)
    } else {
        e.add("website", "must be a web address like https://example.com");
        None
    }
}

/// A lead as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lead {
    #[schema(value_type = String, example = "01JD7Z3K8Q6W9X2Y4B5C6D7E8F")]
    pub id: Ulid,
    pub first_name: String,
    pub last_name: String,
    pub company_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<Phone>,
    pub source: String,
    pub campaign: String,
    pub medium: String,
    pub owner_id: String,
    pub job_title: Option<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
    pub budget: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
    pub status: LeadStatus,
    /// 0-100, recomputed whenever the profile changes.
    pub score: u8,
    pub score_band: ScoreBand,
    pub version: u64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The latest qualification score (0–100), once the lead has been assessed.
    #[serde(default)]
    pub qualification_score: Option<u8>,
    /// Why the lead was last recycled or disqualified.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// When a recycled lead is to be looked at again.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub revisit_on: Option<NaiveDate>,
    /// What the lead became: set once, by its conversion.
    #[serde(default)]
    pub conversion: Option<ConversionPointers>,
    /// Times the person reached out again after capture (a form sent again, a WhatsApp message):
    /// each adds to the score.
    #[serde(default)]
    pub interactions: u32,
}

/// The records a conversion made from a lead (the lead itself keeps all its data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversionPointers {
    pub account_id: String,
    /// Whether the conversion created the account (false: it joined an existing one).
    #[serde(default)]
    pub account_created: bool,
    pub contact_id: String,
    pub opportunity_id: String,
    pub activity_id: String,
    pub converted_by: String,
    pub converted_at: DateTime<Utc>,
}

impl Lead {
    /// A freshly captured lead. Unowned leads belong to the person who captured them.
    pub fn capture(draft: LeadDraft, id: Ulid, actor: &str, now: DateTime<Utc>) -> Lead {
        let mut lead = Lead {
            id,
            owner_id: draft.owner_id.clone().unwrap_or_else(|| actor.to_string()),
            first_name: draft.first_name,
            last_name: draft.last_name,
            company_name: draft.company_name,
            email: draft.email,
            phone: draft.phone,
            source: draft.source,
            campaign: draft.campaign,
            medium: draft.medium,
            job_title: draft.job_title,
            website: draft.website,
            notes: draft.notes,
            budget: draft.budget,
            authority: draft.authority,
            need: draft.need,
            timeline: draft.timeline,
            status: LeadStatus::New,
            score: 0,
            score_band: ScoreBand::Cold,
            version: 1,
            created_by: actor.to_string(),
            created_at: now,
            updated_at: now,
            qualification_score: None,
            status_reason: None,
            revisit_on: None,
            conversion: None,
            interactions: 0,
        };
        lead.rescore();
        lead
    }

    fn rescore(&mut self) {
        let bant = [&self.budget, &self.authority, &self.need, &self.timeline];
        self.score = lead_score(&ScoreInputs {
            has_email: self.email.is_some(),
            has_phone: self.phone.is_some(),
            has_company: self.company_name.is_some(),
            has_job_title: self.job_title.is_some(),
            has_website: self.website.is_some(),
            bant_answered: bant.iter().filter(|f| f.is_some()).count(),
            source: &self.source,
            interactions: self.interactions,
        });
        self.score_band = ScoreBand::of(self.score);
    }

    /// The lead after `patch`, validated as a whole (the same rules as capture), with a new
    /// version and score. `self` is left untouched so a refused patch changes nothing.
    pub fn patched(&self, patch: &LeadPatch, now: DateTime<Utc>) -> Result<Lead, FieldErrors> {
        let mut e = FieldErrors::default();
        if self.status == LeadStatus::Converted {
            e.add("status", "a converted lead is history and cannot be edited");
            return Err(e);
        }
        let status = match patch.status.as_deref() {
            None => self.status,
            Some(raw) => match LeadStatus::parse(raw) {
                None => {
                    e.add("status", "must be one of new, contacted, nurturing");
                    self.status
                }
                Some(to) => {
                    if let Err(m) = self.status.manual_change(to) {
                        e.add("status", m);
                    }
                    to
                }
            },
        };
        if self.status == LeadStatus::Archived && status == LeadStatus::Archived {
            e.add("status", "an archived lead is read-only; restore it to new first");
        }
        let keep = |v: &Option<String>| v.clone();
        let pick = |p: &Option<Option<String>>, cur: Option<String>| match p {
            None => cur,
            Some(v) => v.clone(),
        };
        let merged = NewLead {
            first_name: patch.first_name.clone().or_else(|| Some(self.first_name.clone())),
            last_name: patch.last_name.clone().or_else(|| Some(self.last_name.clone())),
            company_name: pick(&patch.company_name, keep(&self.company_name)),
            email: pick(&patch.email, self.email.as_ref().map(|v| v.to_string())),
            phone: pick(&patch.phone, self.phone.as_ref().map(|v| v.as_str().to_string())),
            source: patch.source.clone().or_else(|| Some(self.source.clone())),
            campaign: patch.campaign.clone().or_else(|| Some(self.campaign.clone())),
            medium: patch.medium.clone().or_else(|| Some(self.medium.clone())),
            owner_id: patch.owner_id.clone().or_else(|| Some(self.owner_id.clone())),
            job_title: pick(&patch.job_title, keep(&self.job_title)),
            website: pick(&patch.website, keep(&self.website)),
            notes: pick(&patch.notes, keep(&self.notes)),
            budget: pick(&patch.budget, keep(&self.budget)),
            authority: pick(&patch.authority, keep(&self.authority)),
            need: pick(&patch.need, keep(&self.need)),
            timeline: pick(&patch.timeline, keep(&self.timeline)),
        };
        let draft = match merged.validate() {
            Ok(d) if e.is_empty() => d,
            Ok(_) => return Err(e),
            Err(more) => {
                e.0.extend(more.0);
                return Err(e);
            }
        };
        let mut next = Lead::capture(draft, self.id, &self.created_by, self.created_at);
        next.status = status;
        next.qualification_score = self.qualification_score;
        next.status_reason = self.status_reason.clone();
        next.revisit_on = self.revisit_on;
        next.interactions = self.interactions;
        next.rescore();
        next.version = self.version + 1;
        next.updated_at = now;
        Ok(next)
    }

    /// The lead with the empty parts of its profile (company, job title, website, notes) filled
    /// from `draft`, as an import does for a person it finds already captured: nothing it holds
    /// is overwritten. None when there is nothing to fill, or the lead is history (converted) or
    /// read-only (archived).
    pub fn filled_from(&self, draft: &LeadDraft, now: DateTime<Utc>) -> Option<Lead> {
        if matches!(self.status, LeadStatus::Converted | LeadStatus::Archived) {
            return None;
        }
        let mut next = self.clone();
        let mut filled = false;
        for (slot, value) in [
            (&mut next.company_name, &draft.company_name),
            (&mut next.job_title, &draft.job_title),
            (&mut next.website, &draft.website),
            (&mut next.notes, &draft.notes),
        ] {
            if slot.is_none() && value.is_some() {
                *slot = value.clone();
                filled = true;
            }
        }
        if !filled {
            return None;
        }
        next.rescore();
        next.version += 1;
        next.updated_at = now;
        Some(next)
    }

    /// The lead after the person reached out again (a form sent again, a WhatsApp message): one
    /// more interaction and the score it adds. None for a converted lead, which is history (the
    /// interaction is still logged on its timeline).
    pub fn reached_out(&self, now: DateTime<Utc>) -> Option<Lead> {
        if self.status == LeadStatus::Converted {
            return None;
        }
        let mut next = self.clone();
        next.interactions = self.interactions.saturating_add(1);
        next.rescore();
        next.version += 1;
        next.updated_at = now;
        Some(next)
    }

    /// The lead archived (idempotent: archiving an archived lead changes nothing).
    pub fn archived(&self, now: DateTime<Utc>) -> Result<Option<Lead>, &'static str> {
        match self.status {
            LeadStatus::Archived => Ok(None),
            LeadStatus::Converted => Err("a converted lead is history and cannot be archived"),
            // Archived leads can be restored to `new`: archiving a disqualified one would be a way
            // around the manager's reversal.
            LeadStatus::Unqualified => Err("a disqualified lead stays as it is; a manager can reverse the decision"),
            _ => {
                let mut next = self.clone();
                next.status = LeadStatus::Archived;
                next.version += 1;
                next.updated_at = now;
                Ok(Some(next))
            }
        }
    }

    /// The fields people and rules change: what "changed" means for events and the audit trail
    /// (compared by `keel_store::audit::AuditRecord::diff`).
    pub const RECORDED_FIELDS: [&'static str; 24] = [
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "source",
        "campaign",
        "medium",
        "owner_id",
        "job_title",
        "website",
        "notes",
        "budget",
        "authority",
        "need",
        "timeline",
        "status",
        "score",
        "score_band",
        "qualification_score",
        "status_reason",
        "revisit_on",
        "conversion",
        "interactions",
    ];

    /// The lead as JSON (plain strings, numbers and nulls: serialising it cannot fail).
    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A valid lead captured at `now`.
    pub fn lead(now: DateTime<Utc>) -> Lead {
        let draft = NewLead {
            first_name: Some("Ana".into()),
            last_name: Some("Silva".into()),
            email: Some("ana@acme.example".into()),
            source: Some("Web".into()),
            campaign: Some("Q4".into()),
            medium: Some("Email".into()),
            ..Default::default()
        };
        Lead::capture(draft.validate().unwrap(), Ulid::nil(), "u", now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> NewLead {
        NewLead {
            first_name: Some("Ana".into()),
            last_name: Some("Silva".into()),
            email: Some("Ana@Acme.example".into()),
            source: Some("Google Ads".into()),
            campaign: Some("CRM-Q4-2025".into()),
            medium: Some("CPC".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let errors = NewLead { email: Some("nope".into()), phone: Some("123".into()), ..Default::default() }
            .validate()
            .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        for f in ["first_name", "last_name", "email", "phone", "source", "campaign", "medium"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn capture_normalises_and_scores() {
        let lead = Lead::capture(valid().validate().unwrap(), Ulid::new(), "user-1", Utc::now());
        assert_eq!(lead.email.as_ref().unwrap().as_str(), "ana@acme.example");
        assert_eq!(lead.owner_id, "user-1");
        assert_eq!(lead.status, LeadStatus::New);
        assert_eq!(lead.score, 10);
        assert_eq!(lead.score_band, ScoreBand::Cold);
    }

    #[test]
    fn patch_rescores_and_guards_status() {
        let lead = Lead::capture(valid().validate().unwrap(), Ulid::new(), "user-1", Utc::now());
        let patch = LeadPatch {
            budget: Some(Some("50k".into())),
            need: Some(Some("Pipeline visibility".into())),
            ..Default::default()
        };
        let next = lead.patched(&patch, Utc::now()).unwrap();
        assert_eq!((next.score, next.version), (40, 2));
        let bad = LeadPatch { status: Some("qualified".into()), ..Default::default() };
        assert_eq!(lead.patched(&bad, Utc::now()).unwrap_err().0[0].field, "status");
        let clear_email = LeadPatch { email: Some(None), ..Default::default() };
        assert_eq!(lead.patched(&clear_email, Utc::now()).unwrap_err().0[0].field, "email");
    }

    #[test]
    fn archive_is_idempotent_and_restorable() {
        let lead = Lead::capture(valid().validate().unwrap(), Ulid::new(), "user-1", Utc::now());
        let archived = lead.archived(Utc::now()).unwrap().unwrap();
        assert!(archived.archived(Utc::now()).unwrap().is_none());
        let restore = LeadPatch { status: Some("new".into()), ..Default::default() };
        assert_eq!(archived.patched(&restore, Utc::now()).unwrap().status, LeadStatus::New);
        let edit = LeadPatch { notes: Some(Some("x".into())), ..Default::default() };
        assert!(archived.patched(&edit, Utc::now()).is_err());
    }

    #[test]
    fn websites_are_web_addresses_only() {
        for ok in ["https://acme.example", "http://acme.example/about?x=1", "acme.example", "www.acme.example:8443/x"] {
            let lead = NewLead { website: Some(ok.into()), ..valid() };
            assert!(lead.validate().is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "javascript:alert(document.cookie)//x.y",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>.x",
            "file:///etc/passwd",
            "ftp://acme.example",
            "https://acme",
            "acme.example:port",
            "https://.example",
        ] {
            let errors = NewLead { website: Some(bad.into()), ..valid() }.validate().unwrap_err();
            assert!(errors.0.iter().any(|e| e.field == "website"), "{bad} should be refused");
        }
    }

    #[test]
    fn names_refuse_text_direction_overrides_but_keep_right_to_left_text() {
        let spoofed = NewLead { first_name: Some("Ana\u{202E}nimda".into()), ..valid() };
        assert!(spoofed.validate().unwrap_err().0.iter().any(|e| e.field == "first_name"));
        let arabic = NewLead { first_name: Some("\u{0644}\u{064A}\u{0644}\u{0649}".into()), ..valid() };
        assert!(arabic.validate().is_ok());
    }
}

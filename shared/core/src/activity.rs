//! Activities: what happened with a lead, account, contact or deal. An activity relates to one or
//! more records and shows on each one's timeline; system activities (conversion, stage changes)
//! are written by the product and never edited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::field_error::{is_record_id, line, text};
use crate::FieldErrors;
use ulid::Ulid;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    Call,
    Email,
    Meeting,
    Note,
    Task,
    Whatsapp,
    StageChange,
    System,
}

/// The kinds of record an activity relates to (the timelines that show it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Lead,
    Account,
    Contact,
    Deal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Related {
    pub kind: RecordKind,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    #[schema(value_type = String)]
    pub id: Ulid,
    #[serde(rename = "type")]
    pub activity_type: ActivityType,
    pub subject: String,
    pub body: Option<String>,
    pub related: Vec<Related>,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    pub outcome: Option<String>,
    pub owner_id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub version: u64,
    /// Timelines it also shows on though it does not relate to them: the account and contact a
    /// converted lead became carry the lead's history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shown_on: Vec<Related>,
}

/// The most records one activity relates to: its timeline entries are written with it, so the
/// fan-out of a write stays bounded (activity + entries fit one transaction).
pub const MAX_RELATED: usize = 5;
const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 10_000;
const OUTCOME_MAX: usize = 200;
/// A week, in minutes.
const DURATION_MAX: u32 = 10_080;

impl ActivityType {
    /// Written by the product from what happened (conversions, stage moves): never by hand, never edited.
    pub fn is_system(self) -> bool {
        matches!(self, ActivityType::StageChange | ActivityType::System)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityType::Call => "call",
            ActivityType::Email => "email",
            ActivityType::Meeting => "meeting",
            ActivityType::Note => "note",
            ActivityType::Task => "task",
            ActivityType::Whatsapp => "whatsapp",
            ActivityType::StageChange => "stage_change",
            ActivityType::System => "system",
        }
    }

    pub const ALL: [ActivityType; 8] = [
        ActivityType::Call,
        ActivityType::Email,
        ActivityType::Meeting,
        ActivityType::Note,
        ActivityType::Task,
        ActivityType::Whatsapp,
        ActivityType::StageChange,
        ActivityType::System,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Lead => "lead",
            RecordKind::Account => "account",
            RecordKind::Contact => "contact",
            RecordKind::Deal => "deal",
        }
    }
}

/// `POST …/activities`: a call, email, meeting, note, task or WhatsApp message someone logs.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub activity_type: ActivityType,
    pub subject: String,
    pub body: Option<String>,
    /// 1-5 records (lead, account, contact, deal) whose timelines show it.
    pub related: Vec<Related>,
    /// When it happened (or will: a planned meeting); default now.
    pub occurred_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<u32>,
    pub outcome: Option<String>,
    /// Default: the person logging it.
    pub owner_id: Option<String>,
}

/// `PATCH …/activities/{id}`: what an edit may change. An empty `body` or `outcome`, or a
/// `duration_minutes` of 0, clears it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<u32>,
    pub outcome: Option<String>,
    /// The version you read (or send `If-Match`).
    pub version: Option<u64>,
}

fn occurred(e: &mut FieldErrors, at: DateTime<Utc>, now: DateTime<Utc>) {
    if at < now - chrono::Duration::days(20 * 366) || at > now + chrono::Duration::days(2 * 366) {
        e.add("occurred_at", "must be within twenty years before and two years after now");
    }
}

fn duration(e: &mut FieldErrors, minutes: Option<u32>) -> Option<u32> {
    match minutes {
        Some(m) if m > DURATION_MAX => {
            e.add("duration_minutes", format!("must be at most {DURATION_MAX} (a week)"));
            None
        }
        Some(0) | None => None,
        m => m,
    }
}

impl NewActivity {
    pub fn validate(&self, id: Ulid, actor: &str, now: DateTime<Utc>) -> Result<Activity, FieldErrors> {
        let mut e = FieldErrors::default();
        if self.activity_type.is_system() {
            e.add("type", "stage changes and system activities are written by the product");
        }
        let subject = line(&mut e, "subject", Some(&self.subject), true, SUBJECT_MAX);
        let body = text(&mut e, "body", self.body.as_deref(), false, BODY_MAX);
        let outcome = line(&mut e, "outcome", self.outcome.as_deref(), false, OUTCOME_MAX);
        let occurred_at = self.occurred_at.unwrap_or(now);
        occurred(&mut e, occurred_at, now);
        let duration_minutes = duration(&mut e, self.duration_minutes);
        if self.related.is_empty() || self.related.len() > MAX_RELATED {
            e.add("related", format!("1-{MAX_RELATED} records the activity relates to"));
        }
        for (i, r) in self.related.iter().enumerate() {
            if !is_record_id(&r.id) {
                e.add(&format!("related[{i}].id"), "must be a record's id");
            } else if self.related[..i].iter().any(|o| o == r) {
                e.add(&format!("related[{i}].id"), "is named twice");
            }
        }
        let owner_id = self.owner_id.as_deref().map(str::trim).unwrap_or(actor).to_string();
        e.into_result(Activity {
            id,
            activity_type: self.activity_type,
            subject: subject.unwrap_or_default(),
            body,
            related: self.related.clone(),
            occurred_at,
            duration_minutes,
            outcome,
            owner_id,
            created_by: actor.into(),
            created_at: now,
            version: 1,
            shown_on: vec![],
        })
    }
}

impl ActivityPatch {
    /// The edited activity (same version: the caller moves it), or why not: field errors, or a
    /// rule (`true`) for a system activity, which never changes.
    pub fn apply(&self, current: &Activity, now: DateTime<Utc>) -> Result<Activity, (FieldErrors, bool)> {
        let mut e = FieldErrors::default();
        if current.activity_type.is_system() {
            e.add("type", "stage changes and system activities are a record of what happened and never change");
            return Err((e, true));
        }
        let mut next = current.clone();
        if let Some(s) = &self.subject {
            next.subject = line(&mut e, "subject", Some(s), true, SUBJECT_MAX).unwrap_or_default();
        }
        if let Some(b) = &self.body {
            next.body = text(&mut e, "body", Some(b), false, BODY_MAX);
        }
        if let Some(o) = &self.outcome {
            next.outcome = line(&mut e, "outcome", Some(o), false, OUTCOME_MAX);
        }
        if let Some(at) = self.occurred_at {
            occurred(&mut e, at, now);
            next.occurred_at = at;
        }
        if self.duration_minutes.is_some() {
            next.duration_minutes = duration(&mut e, self.duration_minutes);
        }
        e.into_result(next).map_err(|e| (e, false))
    }
}

impl Activity {
    /// What people change, as recorded in the audit trail.
    pub const RECORDED_FIELDS: [&'static str; 7] =
        ["type", "subject", "body", "related", "occurred_at", "duration_minutes", "outcome"];

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Who may change it besides managers: a note's author, another activity's owner.
    pub fn editor(&self) -> &str {
        if self.activity_type == ActivityType::Note {
            &self.created_by
        } else {
            &self.owner_id
        }
    }

    /// Every timeline that shows it: the records it relates to, then those its history was
    /// copied to (a converted lead's account and contact).
    pub fn timelines(&self) -> impl Iterator<Item = &Related> {
        self.related.iter().chain(self.shown_on.iter().filter(|s| !self.related.contains(s)))
    }
}

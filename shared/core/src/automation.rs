//! Task automation: a company's rules that make follow-up tasks by themselves — "a new lead from
//! the website → call within the hour", "a hot lead with no activity for two days → follow up",
//! "a deal with no activity for a week → next step". A rule never makes a second open task for the
//! same record (the tasks context holds a marker per rule and record while one is open).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::field_error::line;
use crate::task::TaskPriority;
use crate::FieldErrors;

/// What makes a rule look at a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleTrigger {
    /// A lead is captured (matching the rule's source and score).
    LeadCreated,
    /// An open lead (matching the rule's source and score) has had no activity for `idle_hours`.
    LeadIdle,
    /// An open deal has had no activity for `idle_hours`.
    DealIdle,
}

impl RuleTrigger {
    pub fn is_lead(self) -> bool {
        matches!(self, RuleTrigger::LeadCreated | RuleTrigger::LeadIdle)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutomationRule {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub name: String,
    pub trigger: RuleTrigger,
    /// Lead rules: only leads of this source (as captured, any case), e.g. `Website`.
    pub source: Option<String>,
    /// Lead rules: only leads scoring at least this (70 is hot).
    pub min_score: Option<u8>,
    /// Idle rules: hours without activity before the task is made.
    pub idle_hours: Option<u32>,
    /// The task's title; `{name}` is replaced by the lead's or deal's name.
    pub task_title: String,
    pub task_priority: TaskPriority,
    /// The task is due this long after it is made (0: at once).
    pub due_in_hours: u32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// `POST …/tasks/automation-rules`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub name: String,
    pub trigger: RuleTrigger,
    pub source: Option<String>,
    pub min_score: Option<u8>,
    pub idle_hours: Option<u32>,
    pub task_title: String,
    /// Default: normal.
    pub task_priority: Option<TaskPriority>,
    pub due_in_hours: u32,
    /// Default: true.
    pub active: Option<bool>,
}

/// `PATCH …/tasks/automation-rules/{rule_id}`: what is left out stays (the trigger never changes).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    pub name: Option<String>,
    /// An empty one clears it.
    pub source: Option<String>,
    pub min_score: Option<u8>,
    pub idle_hours: Option<u32>,
    pub task_title: Option<String>,
    pub task_priority: Option<TaskPriority>,
    pub due_in_hours: Option<u32>,
    pub active: Option<bool>,
    pub version: Option<u64>,
}

/// A company keeps at most this many rules (each event reads them all, in one Query).
pub const MAX_RULES: usize = 50;
const NAME_MAX: usize = 120;
const TITLE_MAX: usize = 200;
/// 90 days.
const IDLE_MAX: u32 = 2_160;
const DUE_MAX: u32 = 720;

impl AutomationRule {
    /// Checks the rule as a whole (what a create or an edit leaves).
    fn check(&self, e: &mut FieldErrors) {
        match (self.trigger, self.idle_hours) {
            (RuleTrigger::LeadCreated, Some(_)) => e.add("idle_hours", "applies to idle rules only"),
            (RuleTrigger::LeadIdle | RuleTrigger::DealIdle, None) => e.add("idle_hours", "is required for idle rules"),
            (_, Some(h)) if !(1..=IDLE_MAX).contains(&h) => e.add("idle_hours", "must be 1 to 2160 hours"),
            _ => {}
        }
        if self.trigger == RuleTrigger::DealIdle {
            if self.source.is_some() {
                e.add("source", "applies to lead rules only");
            }
            if self.min_score.is_some() {
                e.add("min_score", "applies to lead rules only");
            }
        }
        if self.min_score.is_some_and(|s| s > 100) {
            e.add("min_score", "must be 0 to 100");
        }
        if self.due_in_hours > DUE_MAX {
            e.add("due_in_hours", "must be 0 to 720 hours");
        }
    }

    /// Whether a lead of `source` scoring `score` is one the rule looks at.
    pub fn matches_lead(&self, source: &str, score: u8) -> bool {
        self.active
            && self.trigger.is_lead()
            && self.source.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(source.trim()))
            && self.min_score.is_none_or(|m| score >= m)
    }

    /// The title of the task it makes for a record called `name`.
    pub fn title_for(&self, name: &str) -> String {
        let title = self.task_title.replace("{name}", name.trim());
        title.chars().take(TITLE_MAX).collect()
    }

    pub fn idle(&self) -> Duration {
        Duration::hours(i64::from(self.idle_hours.unwrap_or(0)))
    }

    pub fn due_in(&self) -> Duration {
        Duration::hours(i64::from(self.due_in_hours))
    }

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub const RECORDED_FIELDS: [&'static str; 9] = [
        "name",
        "trigger",
        "source",
        "min_score",
        "idle_hours",
        "task_title",
        "task_priority",
        "due_in_hours",
        "active",
    ];
}

fn source(e: &mut FieldErrors, raw: Option<&str>) -> Option<String> {
    line(e, "source", raw, false, NAME_MAX)
}

impl NewRule {
    pub fn validate(&self, id: Ulid, now: DateTime<Utc>) -> Result<AutomationRule, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = line(&mut e, "name", Some(&self.name), true, NAME_MAX).unwrap_or_default();
        let task_title = line(&mut e, "task_title", Some(&self.task_title), true, TITLE_MAX).unwrap_or_default();
        let rule = AutomationRule {
            id,
            name,
            trigger: self.trigger,
            source: source(&mut e, self.source.as_deref()),
            min_score: self.min_score,
            idle_hours: self.idle_hours,
            task_title,
            task_priority: self.task_priority.unwrap_or(TaskPriority::Normal),
            due_in_hours: self.due_in_hours,
            active: self.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        rule.check(&mut e);
        e.into_result(rule)
    }
}

impl RulePatch {
    pub fn apply(&self, current: &AutomationRule, now: DateTime<Utc>) -> Result<AutomationRule, FieldErrors> {
        let mut e = FieldErrors::default();
        let mut next = current.clone();
        if let Some(n) = &self.name {
            next.name = line(&mut e, "name", Some(n), true, NAME_MAX).unwrap_or_default();
        }
        if let Some(s) = &self.source {
            next.source = source(&mut e, Some(s));
        }
        if self.min_score.is_some() {
            next.min_score = self.min_score;
        }
        if self.idle_hours.is_some() {
            next.idle_hours = self.idle_hours;
        }
        if let Some(t) = &self.task_title {
            next.task_title = line(&mut e, "task_title", Some(t), true, TITLE_MAX).unwrap_or_default();
        }
        if let Some(p) = self.task_priority {
            next.task_priority = p;
        }
        if let Some(d) = self.due_in_hours {
            next.due_in_hours = d;
        }
        if let Some(a) = self.active {
            next.active = a;
        }
        next.check(&mut e);
        next.updated_at = now;
        e.into_result(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(trigger: RuleTrigger, idle_hours: Option<u32>) -> NewRule {
        NewRule {
            name: "Hot leads".into(),
            trigger,
            source: Some("Website".into()),
            min_score: Some(70),
            idle_hours,
            task_title: "Follow up with {name}".into(),
            task_priority: Some(TaskPriority::High),
            due_in_hours: 4,
            active: None,
        }
    }

    #[test]
    fn idle_rules_need_their_hours_and_deal_rules_take_no_lead_conditions() {
        let now = Utc::now();
        assert!(rule(RuleTrigger::LeadIdle, Some(48)).validate(Ulid::new(), now).is_ok());
        let fields = |r: NewRule| -> Vec<String> {
            r.validate(Ulid::new(), now).unwrap_err().0.into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(rule(RuleTrigger::LeadIdle, None)), ["idle_hours"]);
        assert_eq!(fields(rule(RuleTrigger::LeadCreated, Some(2))), ["idle_hours"]);
        assert_eq!(fields(rule(RuleTrigger::DealIdle, Some(0))), ["idle_hours", "source", "min_score"]);
        let mut bad = rule(RuleTrigger::LeadCreated, None);
        bad.min_score = Some(101);
        bad.due_in_hours = 721;
        bad.name = " ".into();
        assert_eq!(fields(bad), ["name", "min_score", "due_in_hours"]);
    }

    #[test]
    fn a_rule_matches_leads_by_source_and_score_and_names_the_task() {
        let r = rule(RuleTrigger::LeadCreated, None).validate(Ulid::new(), Utc::now()).unwrap();
        assert!(r.matches_lead("website", 80) && r.matches_lead(" Website ", 70));
        assert!(!r.matches_lead("Referral", 90) && !r.matches_lead("Website", 69));
        assert_eq!(r.title_for("Ada Lovelace"), "Follow up with Ada Lovelace");
        let off = RulePatch { active: Some(false), ..Default::default() }.apply(&r, Utc::now()).unwrap();
        assert!(!off.matches_lead("Website", 99), "an inactive rule matches nothing");
        let cleared = RulePatch { source: Some(String::new()), ..Default::default() }.apply(&r, Utc::now()).unwrap();
        assert!(cleared.matches_lead("Referral", 70));
    }
}

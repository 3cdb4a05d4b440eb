//! Tasks: follow-ups with an assignee, a due time, a priority and a status, about a lead, account,
//! contact or deal. The rules here are what the tasks context and the scheduler share: which
//! status moves are allowed, which "due" bucket a task is in for its assignee, and when an overdue
//! task is escalated next (once per level, each level a raise in priority).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::activity::Related;
use crate::field_error::{is_record_id, line, text};
use crate::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskPriority {
    Low,
    Normal,
    High,
    Urgent,
}

impl TaskPriority {
    /// One step up, for an escalation; urgent stays urgent.
    pub fn raised(self) -> TaskPriority {
        match self {
            TaskPriority::Low => TaskPriority::Normal,
            TaskPriority::Normal => TaskPriority::High,
            TaskPriority::High | TaskPriority::Urgent => TaskPriority::Urgent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }

    /// Open and in progress move freely between each other and to done or cancelled; a closed
    /// task is reopened only to open (its completion activity stays on the timeline).
    pub fn may_become(self, to: TaskStatus) -> bool {
        self == to || !self.is_closed() || to == TaskStatus::Open
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub title: String,
    pub description: Option<String>,
    pub assignee_id: String,
    pub due_at: DateTime<Utc>,
    pub priority: TaskPriority,
    /// What it was created with (escalations and edits change `priority`); statistics count by it.
    pub created_priority: TaskPriority,
    pub status: TaskStatus,
    /// What the task is about, if anything.
    pub related: Option<Related>,
    /// Escalations so far (0: none); each raised the priority and told the assignee's manager.
    pub escalation_level: u8,
    /// Whether it was ever still open past its due time (counted once in the overdue rate).
    #[serde(default)]
    pub went_overdue: bool,
    /// The automation rule that made it, if one did.
    pub rule_id: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// `POST …/tasks`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub title: String,
    pub description: Option<String>,
    /// Default: the person creating it.
    pub assignee_id: Option<String>,
    pub due_at: DateTime<Utc>,
    /// Default: normal.
    pub priority: Option<TaskPriority>,
    pub related: Option<Related>,
}

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 5_000;
/// How far ahead a task may be due.
const DUE_AHEAD_DAYS: i64 = 5 * 366;
/// How many times an overdue task is escalated at most (low → normal → high → urgent, then the
/// manager is told once more at urgent).
pub const MAX_ESCALATIONS: u8 = 4;

impl NewTask {
    pub fn validate(&self, id: Ulid, actor: &str, now: DateTime<Utc>) -> Result<Task, FieldErrors> {
        let mut e = FieldErrors::default();
        let title = line(&mut e, "title", Some(&self.title), true, TITLE_MAX);
        let description = text(&mut e, "description", self.description.as_deref(), false, DESCRIPTION_MAX);
        if self.due_at > now + Duration::days(DUE_AHEAD_DAYS) || self.due_at < now - Duration::days(366) {
            e.add("due_at", "must be within a year before and five years after now");
        }
        if let Some(r) = &self.related {
            if !is_record_id(&r.id) {
                e.add("related.id", "must be a record's id");
            }
        }
        let assignee_id = self.assignee_id.as_deref().map(str::trim).unwrap_or(actor).to_string();
        if !is_record_id(&assignee_id) {
            e.add("assignee_id", "must name a user of your company");
        }
        e.into_result(Task {
            id,
            title: title.unwrap_or_default(),
            description,
            assignee_id,
            // Milliseconds, as the due-time index keeps times.
            due_at: self.due_at.trunc_subsecs(3),
            priority: self.priority.unwrap_or(TaskPriority::Normal),
            created_priority: self.priority.unwrap_or(TaskPriority::Normal),
            status: TaskStatus::Open,
            related: self.related.clone(),
            escalation_level: 0,
            went_overdue: false,
            rule_id: None,
            completed_at: None,
            created_by: actor.into(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }
}

/// `PATCH …/tasks/{task_id}`: what is left out stays.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    pub title: Option<String>,
    /// An empty one clears it.
    pub description: Option<String>,
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub priority: Option<TaskPriority>,
    pub status: Option<TaskStatus>,
    /// The version you read (or send `If-Match`).
    pub version: Option<u64>,
}

impl TaskPatch {
    /// The task after the patch at `now`; a refused status move is a rule (true), the rest input
    /// errors (false). Completing stamps `completed_at` (and marks a late completion overdue);
    /// reopening clears it.
    pub fn apply(&self, current: &Task, now: DateTime<Utc>) -> Result<Task, (FieldErrors, bool)> {
        let mut e = FieldErrors::default();
        let mut next = current.clone();
        if let Some(title) = &self.title {
            next.title = line(&mut e, "title", Some(title), true, TITLE_MAX).unwrap_or_default();
        }
        if let Some(d) = &self.description {
            next.description = text(&mut e, "description", Some(d), false, DESCRIPTION_MAX);
        }
        if let Some(a) = &self.assignee_id {
            let a = a.trim();
            if !is_record_id(a) {
                e.add("assignee_id", "must name a user of your company");
            }
            next.assignee_id = a.to_string();
        }
        if let Some(due) = self.due_at {
            if due > now + Duration::days(DUE_AHEAD_DAYS) || due < now - Duration::days(366) {
                e.add("due_at", "must be within a year before and five years after now");
            }
            next.due_at = due.trunc_subsecs(3);
        }
        if let Some(p) = self.priority {
            next.priority = p;
        }
        if !e.is_empty() {
            return Err((e, false));
        }
        if let Some(to) = self.status {
            if !current.status.may_become(to) {
                e.add("status", "a done or cancelled task can only be reopened (status open)");
                return Err((e, true));
            }
            next.status = to;
            match (current.status.is_closed(), to.is_closed()) {
                (false, true) => {
                    next.completed_at = Some(now);
                    next.went_overdue |= to == TaskStatus::Done && now > next.due_at;
                }
                (true, false) => next.completed_at = None,
                _ => {}
            }
        }
        next.updated_at = now;
        Ok(next)
    }
}

/// How a company escalates overdue tasks: after `delay_hours` past the due time, and again after
/// each further `delay_hours`, up to [`MAX_ESCALATIONS`] times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscalationPolicy {
    pub delay_hours: u32,
    /// 0 while the company keeps the default.
    pub version: u64,
}

/// `PUT …/tasks/escalation-policy`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyInput {
    /// 1-720 (30 days).
    pub delay_hours: u32,
    /// The version you read (0 for the default).
    pub version: u64,
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        EscalationPolicy { delay_hours: 24, version: 0 }
    }
}

impl EscalationPolicy {
    pub fn delay(&self) -> Duration {
        Duration::hours(i64::from(self.delay_hours))
    }
}

impl EscalationPolicyInput {
    pub fn validate(&self) -> Result<EscalationPolicy, FieldErrors> {
        let mut e = FieldErrors::default();
        if !(1..=720).contains(&self.delay_hours) {
            e.add("delay_hours", "must be 1 to 720 hours");
        }
        e.into_result(EscalationPolicy { delay_hours: self.delay_hours, version: self.version.saturating_add(1) })
    }
}

/// Where a task stands for its assignee: `GET /tasks?due=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueBucket {
    Overdue,
    Today,
    /// Due within the next seven days, after today.
    Week,
    Later,
}

/// The bucket of a task due at `due` for someone whose day starts at `day_start` (the start of
/// today in their time zone, as a UTC instant).
pub fn due_bucket(due: DateTime<Utc>, now: DateTime<Utc>, day_start: DateTime<Utc>) -> DueBucket {
    let tomorrow = day_start + Duration::days(1);
    if due < now {
        DueBucket::Overdue
    } else if due < tomorrow {
        DueBucket::Today
    } else if due < day_start + Duration::days(8) {
        DueBucket::Week
    } else {
        DueBucket::Later
    }
}

impl Task {
    /// What people change, as recorded in the audit trail.
    pub const RECORDED_FIELDS: [&'static str; 7] =
        ["title", "description", "assignee_id", "due_at", "priority", "status", "related"];

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// When the next escalation falls due: `delay` after the due time for the first, and another
    /// `delay` for each level after; none for a closed task or past the last level.
    pub fn next_escalation_at(&self, delay: Duration) -> Option<DateTime<Utc>> {
        if self.status.is_closed() || self.escalation_level >= MAX_ESCALATIONS {
            return None;
        }
        Some(self.due_at + delay * (i32::from(self.escalation_level) + 1))
    }

    /// The task escalated to `level` at `now`, or None when that level is not due yet or was
    /// reached already (a redelivered or parallel scheduler run escalates once per level).
    pub fn escalated(&self, level: u8, delay: Duration, now: DateTime<Utc>) -> Option<Task> {
        if level != self.escalation_level + 1 || self.next_escalation_at(delay).is_none_or(|at| at > now) {
            return None;
        }
        let mut next = self.clone();
        next.escalation_level = level;
        next.went_overdue = true;
        next.priority = self.priority.raised();
        next.updated_at = now;
        next.version = self.version + 1;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap()
    }

    fn task(due: DateTime<Utc>) -> Task {
        let input = NewTask {
            title: "Call back".into(),
            description: None,
            assignee_id: None,
            due_at: due,
            priority: Some(TaskPriority::Low),
            related: None,
        };
        input.validate(Ulid::new(), "rep-1", at(8)).unwrap()
    }

    #[test]
    fn bad_tasks_name_their_fields() {
        let input = NewTask {
            title: " ".into(),
            description: Some("x".repeat(5_001)),
            assignee_id: Some(" ".into()),
            due_at: at(8) + Duration::days(3_000),
            priority: None,
            related: Some(Related { kind: crate::activity::RecordKind::Lead, id: "not an id".into() }),
        };
        let fields: Vec<String> =
            input.validate(Ulid::new(), "rep-1", at(8)).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "description", "due_at", "related.id", "assignee_id"]);
    }

    #[test]
    fn buckets_follow_the_assignee_s_day() {
        let (now, day) = (at(10), at(0));
        assert_eq!(due_bucket(at(9), now, day), DueBucket::Overdue);
        assert_eq!(due_bucket(at(23), now, day), DueBucket::Today);
        assert_eq!(due_bucket(at(23) + Duration::days(3), now, day), DueBucket::Week);
        assert_eq!(due_bucket(at(0) + Duration::days(8), now, day), DueBucket::Later);
    }

    #[test]
    fn completing_stamps_the_time_and_a_late_completion_counts_as_overdue() {
        let t = task(at(9));
        let done = |now| TaskPatch { status: Some(TaskStatus::Done), ..Default::default() }.apply(&t, now).unwrap();
        let (early, late) = (done(at(8)), done(at(10)));
        assert_eq!((early.completed_at, early.went_overdue), (Some(at(8)), false));
        assert!(late.went_overdue);
        let reopened = TaskPatch { status: Some(TaskStatus::Open), ..Default::default() }.apply(&late, at(11)).unwrap();
        assert_eq!(reopened.completed_at, None);
        let refused = TaskPatch { status: Some(TaskStatus::InProgress), ..Default::default() }.apply(&late, at(11));
        assert!(matches!(refused, Err((_, true))), "a closed task only reopens");
        let blank = TaskPatch { title: Some(" ".into()), ..Default::default() }.apply(&t, at(8));
        assert!(matches!(blank, Err((_, false))));
    }

    #[test]
    fn closed_tasks_reopen_only_to_open() {
        use TaskStatus::*;
        assert!(Open.may_become(InProgress) && InProgress.may_become(Done) && Done.may_become(Open));
        assert!(!Done.may_become(InProgress) && !Cancelled.may_become(Done));
    }

    #[test]
    fn an_overdue_task_escalates_once_per_level() {
        let delay = Duration::hours(4);
        let t = task(at(9));
        assert_eq!(t.next_escalation_at(delay), Some(at(13)));
        assert!(t.escalated(1, delay, at(12)).is_none(), "not due yet");
        let first = t.escalated(1, delay, at(13)).unwrap();
        assert_eq!((first.escalation_level, first.priority, first.version), (1, TaskPriority::Normal, 2));
        assert!(first.escalated(1, delay, at(14)).is_none(), "the same level again changes nothing");
        assert!(first.escalated(3, delay, at(23)).is_none(), "levels are not skipped");
        assert_eq!(first.next_escalation_at(delay), Some(at(17)));
        let mut done = first.clone();
        done.status = TaskStatus::Done;
        assert_eq!(done.next_escalation_at(delay), None, "a closed task is never escalated");
        let mut last = first;
        last.escalation_level = MAX_ESCALATIONS;
        assert_eq!(last.next_escalation_at(delay), None);
        assert_eq!(TaskPriority::Urgent.raised(), TaskPriority::Urgent);
    }
}

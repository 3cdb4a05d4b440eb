//! Task automation: what the company's rules do with a lead or deal. The task work consumer runs
//! them as things happen (a captured lead: `lead_created` rules make their task, idle rules put a
//! check in the due-time index; a new deal: its idle rules' check) and when a check comes due (no
//! activity since: the task; otherwise the check moves to when the record would be idle);
//! `POST /tasks/auto-create-for-leads` runs the lead rules over the latest leads on demand.
//!
//! One open task per rule and record: the task's write claims a marker (`T#t#TASKRULE#<rule>#<kind>#<id>`)
//! that only one task can hold, and closing or deleting an idle rule's task releases it, so
//! concurrent runs make one task and an idle rule makes the next one only after the last was
//! closed. A `lead_created` rule's marker is never released: it acts once per lead.
//!
//! | item        | pk                                   | sk          |
//! |-------------|--------------------------------------|-------------|
//! | rule        | `T#t#TASKRULES`                      | `RULE#<id>` |
//! | open marker | `T#t#TASKRULE#<rule>#<kind>#<id>`    | `OPEN`      |

use chrono::{DateTime, Utc};
use keel_core::activity::{RecordKind, Related};
use keel_core::automation::{AutomationRule, RuleTrigger};
use keel_core::lead::{Lead, LeadStatus};
use keel_core::opportunity::Opportunity;
use keel_core::task::{EscalationPolicy, Task, TaskStatus};
use keel_store::db::{self, from_item, s, to_item};
use keel_store::due::{DueKind, DueWork};
use keel_store::{crm, Db, Item, StoreError, TenantKeys, TransactWriteItem, UnitOfWork};
use ulid::Ulid;

use crate::escalation::escalation_entry;
use crate::repo::{self, StatsBatch, StatsMove};

pub const MARKER_SK: &str = "OPEN";

pub fn rules_pk(keys: &TenantKeys) -> String {
    keys.key("TASKRULES")
}

pub fn rule_sk(id: &str) -> String {
    format!("RULE#{id}")
}

pub fn rule_item(keys: &TenantKeys, rule: &AutomationRule) -> Result<Item, StoreError> {
    let mut item = to_item(rule)?;
    item.insert("pk".into(), s(rules_pk(keys)));
    item.insert("sk".into(), s(rule_sk(&rule.id.to_string())));
    item.insert("entity".into(), s("automation_rule"));
    Ok(item)
}

/// The company's rules, oldest first (1 Query; at most `MAX_RULES`).
pub async fn rules(db: &Db, keys: &TenantKeys) -> Result<Vec<AutomationRule>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :r)")
        .expression_attribute_values(":pk", s(rules_pk(keys)))
        .expression_attribute_values(":r", s("RULE#"))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.items.unwrap_or_default().into_iter().map(from_item).collect()
}

pub fn marker_pk(keys: &TenantKeys, rule_id: &str, related: &Related) -> String {
    keys.key(&format!("TASKRULE#{rule_id}#{}#{}", related.kind.as_str(), related.id))
}

/// The marker a rule's open task holds on its record, if the task is a rule's and about a record.
pub fn marker_of(keys: &TenantKeys, task: &Task) -> Option<(String, &'static str)> {
    Some((marker_pk(keys, task.rule_id.as_deref()?, task.related.as_ref()?), MARKER_SK))
}

/// Claims the marker for a new or reopened rule task: fails if another task holds it.
pub fn claim(table: &str, keys: &TenantKeys, task: &Task) -> Option<TransactWriteItem> {
    let (pk, sk) = marker_of(keys, task)?;
    let id = task.id.to_string();
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .item("pk", s(pk))
        .item("sk", s(sk))
        .item("entity", s("automation_marker"))
        .item("task_id", s(&id))
        .condition_expression("attribute_not_exists(pk) OR task_id = :me")
        .expression_attribute_values(":me", s(id))
        .build()
        .expect("table, item and condition are set");
    Some(TransactWriteItem::builder().put(put).build())
}

/// The marker a closed or deleted rule task gives up, so its rule may make the next one: an idle
/// rule's (or a deleted rule's). A `lead_created` rule's stays, as that rule acts once per lead.
/// 1 GetItem, for rule tasks only.
pub async fn released_on_close(
    db: &Db,
    keys: &TenantKeys,
    task: &Task,
) -> Result<Option<TransactWriteItem>, StoreError> {
    let (Some((pk, sk)), Some(rule_id)) = (marker_of(keys, task), task.rule_id.as_deref()) else { return Ok(None) };
    let rule: Option<AutomationRule> = db.get_as(&rules_pk(keys), &rule_sk(rule_id)).await?;
    if rule.is_some_and(|r| r.trigger == RuleTrigger::LeadCreated) {
        return Ok(None);
    }
    Ok(Some(db::delete(&db.table, pk, sk.to_string())))
}

/// Whether an open task of the rule is on the record (1 GetItem).
pub async fn has_open_task(db: &Db, keys: &TenantKeys, rule_id: &str, related: &Related) -> Result<bool, StoreError> {
    Ok(db.get(&marker_pk(keys, rule_id, related), MARKER_SK).await?.is_some())
}

/// When anything last happened on the record's timeline (1 Query, one item).
pub async fn last_activity(db: &Db, keys: &TenantKeys, r: &Related) -> Result<Option<DateTime<Utc>>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :a)")
        .expression_attribute_values(":pk", s(crm::record_pk(keys, r.kind, &r.id)))
        .expression_attribute_values(":a", s(crm::TIMELINE))
        .scan_index_forward(false)
        .limit(1)
        .projection_expression("sk")
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    // `ACT#<occurred at, RFC 3339>#<id>`
    Ok(out.items.unwrap_or_default().first().and_then(|i| {
        let sk = i.get("sk")?.as_s().ok()?;
        let at = sk.strip_prefix(crm::TIMELINE)?.split('#').next()?;
        DateTime::parse_from_rfc3339(at).ok().map(|t| t.with_timezone(&Utc))
    }))
}

/// A lead a rule may still act on.
pub fn lead_is_open(status: LeadStatus) -> bool {
    matches!(status, LeadStatus::New | LeadStatus::Contacted | LeadStatus::Nurturing | LeadStatus::Qualified)
}

/// What a rule needs of a record: who owns it, what it is called, whether it is still open, and
/// (leads) its source and score.
pub struct Subject {
    pub related: Related,
    pub owner_id: String,
    pub name: String,
    pub open: bool,
    pub source: String,
    pub score: u8,
    pub created_at: DateTime<Utc>,
}

impl Subject {
    pub fn of_lead(lead: &Lead) -> Subject {
        Subject {
            related: Related { kind: RecordKind::Lead, id: lead.id.to_string() },
            owner_id: lead.owner_id.clone(),
            name: format!("{} {}", lead.first_name, lead.last_name),
            open: lead_is_open(lead.status),
            source: lead.source.clone(),
            score: lead.score,
            created_at: lead.created_at,
        }
    }

    pub fn of_deal(deal: &Opportunity) -> Subject {
        Subject {
            related: Related { kind: RecordKind::Deal, id: deal.id.to_string() },
            owner_id: deal.owner_id.clone(),
            name: deal.name.clone(),
            open: !deal.is_closed() && deal.archived_at.is_none(),
            source: String::new(),
            score: 0,
            created_at: deal.created_at,
        }
    }

    /// Whether `rule` looks at this record at all.
    pub fn fits(&self, rule: &AutomationRule) -> bool {
        self.open
            && match self.related.kind {
                RecordKind::Lead => rule.matches_lead(&self.source, self.score),
                RecordKind::Deal => rule.active && rule.trigger == RuleTrigger::DealIdle,
                _ => false,
            }
    }
}

/// Reads the lead or deal a rule is about (1 GetItem).
pub async fn subject(db: &Db, keys: &TenantKeys, r: &Related) -> Result<Option<Subject>, StoreError> {
    let item = db.get(&crm::record_pk(keys, r.kind, &r.id), crm::record_sk(r.kind)).await?;
    Ok(match (r.kind, item) {
        (RecordKind::Lead, Some(i)) => Some(Subject::of_lead(&from_item::<Lead>(i)?)),
        (RecordKind::Deal, Some(i)) => Some(Subject::of_deal(&from_item::<Opportunity>(i)?)),
        _ => None,
    })
}

/// The task `rule` makes for `subject` at `now`.
pub fn rule_task(rule: &AutomationRule, subject: &Subject, now: DateTime<Utc>) -> Task {
    let now = chrono::SubsecRound::trunc_subsecs(now, 3);
    Task {
        id: Ulid::new(),
        title: rule.title_for(&subject.name),
        description: Some(format!("Made by the automation rule \u{201c}{}\u{201d}.", rule.name)),
        assignee_id: subject.owner_id.clone(),
        due_at: now + rule.due_in(),
        priority: rule.task_priority,
        created_priority: rule.task_priority,
        status: TaskStatus::Open,
        related: Some(subject.related.clone()),
        escalation_level: 0,
        went_overdue: false,
        rule_id: Some(rule.id.to_string()),
        completed_at: None,
        created_by: format!("automation:{}", rule.id),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// Adds a rule's new task to `unit`: the task, its marker (a race with another run fails the
/// unit) and its first escalation; its counters go to `stats`, which the caller adds once for
/// all the tasks of the unit.
pub fn add_rule_task(
    unit: &mut UnitOfWork<'_>,
    stats: &mut StatsBatch,
    keys: &TenantKeys,
    tenant_id: &str,
    task: &Task,
    policy: &EscalationPolicy,
) -> Result<(), StoreError> {
    let table = unit.table().to_string();
    unit.create(repo::task_item(keys, task)?);
    if let Some(claim) = claim(&table, keys, task) {
        unit.include_entity(claim);
    }
    if let Some(entry) = escalation_entry(tenant_id, task, policy) {
        unit.include(entry.put(&table));
    }
    stats.add(task, StatsMove::of(None, task));
    Ok(())
}

/// The due-index entry that has `rule` look at the record again at `at`.
pub fn check_entry(tenant_id: &str, rule: &AutomationRule, r: &Related, at: DateTime<Utc>) -> DueWork {
    DueWork {
        tenant_id: tenant_id.into(),
        kind: DueKind::AutomationCheck,
        reference: format!("{}#{}#{}", rule.id, r.kind.as_str(), r.id),
        due_at: chrono::SubsecRound::trunc_subsecs(at, 3),
    }
}

/// What an idle rule decides about a record at `at`.
pub enum IdleDecision {
    /// Idle long enough and no open task of the rule: make one (and look again an idle period later).
    MakeTask,
    /// Idle, but the rule's task is still open on it.
    TaskOpen,
    /// Not idle yet: look again then.
    LookAgainAt(DateTime<Utc>),
    /// Closed or no longer fitting: the rule lets it go.
    LetGo,
}

/// An idle rule's decision on `subject`: idle since its last activity (or since it was made).
pub async fn idle_decision(
    db: &Db,
    keys: &TenantKeys,
    rule: &AutomationRule,
    subject: &Subject,
    at: DateTime<Utc>,
) -> Result<IdleDecision, StoreError> {
    if !rule.active || !subject.open || rule.trigger == RuleTrigger::LeadCreated {
        return Ok(IdleDecision::LetGo);
    }
    if !subject.fits(rule) {
        // Open, but not what the rule looks for yet (its score may still rise): a look later.
        return Ok(IdleDecision::LookAgainAt(at + rule.idle()));
    }
    let since = last_activity(db, keys, &subject.related).await?.unwrap_or(subject.created_at).max(subject.created_at);
    let idle_at = since + rule.idle();
    if idle_at > at {
        return Ok(IdleDecision::LookAgainAt(idle_at));
    }
    if has_open_task(db, keys, &rule.id.to_string(), &subject.related).await? {
        return Ok(IdleDecision::TaskOpen);
    }
    Ok(IdleDecision::MakeTask)
}

/// A `lead_created` rule's decision: it fits and no open task of the rule is on the lead yet.
pub async fn created_decision(
    db: &Db,
    keys: &TenantKeys,
    rule: &AutomationRule,
    subject: &Subject,
) -> Result<bool, StoreError> {
    Ok(rule.trigger == RuleTrigger::LeadCreated
        && subject.fits(rule)
        && !has_open_task(db, keys, &rule.id.to_string(), &subject.related).await?)
}

//! Escalation of overdue tasks. Every task write that sets a due time puts the task's next
//! escalation in the due-time index; when the scheduler hands it to the task work queue, its
//! consumer escalates the task to that level if it is still due then: its priority goes up, the
//! company's managers get an in-app notification, `TaskEscalated` is emitted, and the next level
//! is scheduled. The level is part of the event's id, so a redelivered or twice-handed-off entry
//! escalates once, and the task's version guards against a concurrent edit.

use aws_sdk_dynamodb::types::TransactWriteItem;
use keel_core::task::{EscalationPolicy, Task, MAX_ESCALATIONS};
use keel_events::{Actor, Envelope, TaskEscalated};
use keel_store::db::{put, s};
use keel_store::due::{DueKind, DueWork};
use keel_store::{Db, StoreError, TenantKeys, UnitOfWork};
use keel_worker::HandlerError;
use ulid::Ulid;

use crate::repo::{self, Notification, StatsMove};

/// The due-index entry of `task`'s next escalation, if it has one.
pub fn escalation_entry(tenant_id: &str, task: &Task, policy: &EscalationPolicy) -> Option<DueWork> {
    task.next_escalation_at(policy.delay()).map(|due_at| DueWork {
        tenant_id: tenant_id.into(),
        kind: DueKind::TaskEscalation,
        reference: format!("{}#{}", task.id, task.escalation_level + 1),
        due_at,
    })
}

/// At most this many people are told of one escalation.
const MAX_NOTIFIED: usize = 20;

/// Who hears of an escalation: the company's active managers, or its administrators when it has
/// no manager; never the assignee about their own task. 1 Query of the company's users.
async fn managers(db: &Db, keys: &TenantKeys, assignee: &str) -> Result<Vec<String>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk")
        .filter_expression("active = :yes AND (#role = :manager OR #role = :admin)")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":pk", s(keys.key("USERS")))
        .expression_attribute_values(":yes", keel_store::AttributeValue::Bool(true))
        .expression_attribute_values(":manager", s("manager"))
        .expression_attribute_values(":admin", s("admin"))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let people: Vec<(String, String)> = out
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| {
            let text = |k: &str| u.get(k).and_then(|v| v.as_s().ok()).cloned();
            Some((text("user_id")?, text("role")?))
        })
        .filter(|(id, _)| id != assignee)
        .collect();
    let pick = |role: &str| -> Vec<String> {
        people.iter().filter(|(_, r)| r == role).map(|(id, _)| id.clone()).take(MAX_NOTIFIED).collect()
    };
    let chosen = pick("manager");
    Ok(if chosen.is_empty() { pick("admin") } else { chosen })
}

/// Escalates the task of a `TaskEscalationDue` entry to its level, if it is still due then.
pub async fn escalate(db: &Db, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
    let reference = event.detail.get("reference").and_then(|r| r.as_str()).unwrap_or_default();
    let Some((task_id, level)) = reference.split_once('#').and_then(|(t, l)| Some((t, l.parse::<u8>().ok()?))) else {
        return Err(HandlerError::Refuse(format!("escalation reference {reference:?} is not <task>#<level>")));
    };
    if !(1..=MAX_ESCALATIONS).contains(&level) || task_id.parse::<Ulid>().is_err() {
        return Err(HandlerError::Refuse(format!("escalation reference {reference:?} is out of range")));
    }
    let keys = TenantKeys::new(&event.tenant_id);
    // Deleted since: nothing to escalate.
    let Some(task) = repo::task(db, &keys, task_id).await? else { return Ok(vec![]) };
    let policy = repo::policy(db, &keys).await?;
    // The scheduler vouches that the entry came due at `occurred_at`; the decision is made at
    // that instant (the end of its millisecond: entries keep milliseconds), so a late or repeated
    // delivery decides the same way.
    let at = event.occurred_at + chrono::Duration::nanoseconds(999_999);
    let table = db.table.clone();
    let Some(next) = task.escalated(level, policy.delay(), at) else {
        // Not due at this entry's time (a later due time, a longer delay since): when the task
        // still has this level ahead, its entry is put where it now falls (an overwrite if it
        // is there already).
        return Ok(match escalation_entry(&event.tenant_id, &task, &policy) {
            Some(entry) if task.escalation_level + 1 == level && entry.due_at > at => {
                vec![entry.put(&table)]
            }
            _ => vec![],
        });
    };
    let notified = managers(db, &keys, &task.assignee_id).await?;
    let mut unit = UnitOfWork::new(db);
    unit.replace(repo::task_item(&keys, &next)?, task.version);
    for update in repo::stats_updates(&table, &keys, &next, StatsMove::of(Some(&task), &next)) {
        unit.include(update);
    }
    if let Some(entry) = escalation_entry(&event.tenant_id, &next, &policy) {
        unit.include(entry.put(&table));
    }
    // Told now, whatever the escalation's due time was (a task made long overdue escalates at once).
    let now = chrono::Utc::now();
    let late = now - task.due_at;
    let late =
        if late.num_hours() >= 48 { format!("{} days", late.num_days()) } else { format!("{} h", late.num_hours()) };
    for user in &notified {
        let note = Notification {
            // A retry after a lost race writes its own id: only the attempt that commits is kept.
            id: Ulid::new().to_string(),
            kind: "task_escalated".into(),
            title: format!("Overdue task escalated: {}", task.title),
            body: format!(
                "Open {late} past its due time; priority raised to {} (escalation {level}).",
                repo::priority_name(next.priority)
            ),
            task_id: Some(task.id.to_string()),
            read: false,
            created_at: now,
        };
        unit.include(put(&table, repo::notification_item(&keys, user, &note)?));
    }
    let actor = Actor { user_id: "scheduler".into(), role: "system".into() };
    unit.event(&Envelope::new(&event.tenant_id, actor, now, &TaskEscalated::of(&next, notified)))?;
    Ok(unit.into_items())
}

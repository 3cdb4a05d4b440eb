//! The task work queue's consumer: escalations and automation checks the scheduler hands off, and
//! the captured leads and new deals the bus routes to it for the automation rules.

use aws_sdk_dynamodb::types::TransactWriteItem;
use keel_core::activity::{RecordKind, Related};
use keel_core::automation::RuleTrigger;
use keel_events::Envelope;
use keel_store::db::from_item;
use keel_store::{Db, TenantKeys, UnitOfWork};
use keel_worker::{Consumer, HandlerError};

use crate::automation::{self, IdleDecision};
use crate::repo::StatsBatch;
use crate::{escalation, repo};

/// What the task work queue receives: from the scheduler and from the bus.
pub const TASK_WORK_EVENTS: &[&str] = &["LeadCreated", "DealChanged"];

pub struct TaskWork {
    pub db: Db,
}

fn refuse(why: String) -> HandlerError {
    HandlerError::Refuse(why)
}

/// Entries keep milliseconds: a decision is made at the end of the entry's millisecond.
fn decided_at(event: &Envelope) -> chrono::DateTime<chrono::Utc> {
    event.occurred_at + chrono::Duration::nanoseconds(999_999)
}

impl TaskWork {
    /// A captured lead: `lead_created` rules make their task, idle rules start watching it.
    async fn lead_created(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let keys = TenantKeys::new(&event.tenant_id);
        let rules: Vec<_> = automation::rules(&self.db, &keys).await?.into_iter().filter(|r| r.active).collect();
        if !rules.iter().any(|r| r.trigger.is_lead()) {
            return Ok(vec![]);
        }
        let lead_id = event.detail.get("lead_id").and_then(|v| v.as_str()).unwrap_or_default();
        let related = Related { kind: RecordKind::Lead, id: lead_id.to_string() };
        let Some(subject) = automation::subject(&self.db, &keys, &related).await? else { return Ok(vec![]) };
        let policy = repo::policy(&self.db, &keys).await?;
        let mut unit = UnitOfWork::new(&self.db);
        let mut stats = StatsBatch::default();
        let table = self.db.table.clone();
        for rule in &rules {
            match rule.trigger {
                RuleTrigger::LeadCreated if automation::created_decision(&self.db, &keys, rule, &subject).await? => {
                    let task = automation::rule_task(rule, &subject, event.occurred_at);
                    automation::add_rule_task(&mut unit, &mut stats, &keys, &event.tenant_id, &task, &policy)?;
                }
                RuleTrigger::LeadIdle if subject.open => {
                    let at = subject.created_at + rule.idle();
                    unit.include(automation::check_entry(&event.tenant_id, rule, &related, at).put(&table));
                }
                _ => {}
            }
        }
        for update in stats.updates(&table, &keys) {
            unit.include(update);
        }
        Ok(unit.into_items())
    }

    /// A new deal: its idle rules start watching it.
    async fn deal_changed(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        if event.detail.get("change").and_then(|v| v.as_str()) != Some("created") {
            return Ok(vec![]);
        }
        let keys = TenantKeys::new(&event.tenant_id);
        let id = event.detail.get("opportunity_id").and_then(|v| v.as_str()).unwrap_or_default();
        let related = Related { kind: RecordKind::Deal, id: id.to_string() };
        let table = self.db.table.clone();
        Ok(automation::rules(&self.db, &keys)
            .await?
            .iter()
            .filter(|r| r.active && r.trigger == RuleTrigger::DealIdle)
            .map(|r| automation::check_entry(&event.tenant_id, r, &related, event.occurred_at + r.idle()).put(&table))
            .collect())
    }

    /// An idle rule looks at its record again: the task if it is idle, else the next look.
    async fn check(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let reference = event.detail.get("reference").and_then(|r| r.as_str()).unwrap_or_default();
        let parts: Vec<&str> = reference.split('#').collect();
        let [rule_id, kind, id] = parts[..] else {
            return Err(refuse(format!("automation reference {reference:?} is not <rule>#<kind>#<id>")));
        };
        let kind = match kind {
            "lead" => RecordKind::Lead,
            "deal" => RecordKind::Deal,
            _ => return Err(refuse(format!("automation reference {reference:?} names no lead or deal"))),
        };
        let keys = TenantKeys::new(&event.tenant_id);
        let item = self.db.get(&automation::rules_pk(&keys), &automation::rule_sk(rule_id)).await?;
        // A deleted rule: its checks die out.
        let Some(rule) = item.map(from_item::<keel_core::automation::AutomationRule>).transpose()? else {
            return Ok(vec![]);
        };
        let related = Related { kind, id: id.to_string() };
        let Some(subject) = automation::subject(&self.db, &keys, &related).await? else { return Ok(vec![]) };
        let at = decided_at(event);
        let table = self.db.table.clone();
        let mut unit = UnitOfWork::new(&self.db);
        match automation::idle_decision(&self.db, &keys, &rule, &subject, at).await? {
            IdleDecision::MakeTask => {
                let policy = repo::policy(&self.db, &keys).await?;
                let task = automation::rule_task(&rule, &subject, event.occurred_at);
                let mut stats = StatsBatch::default();
                automation::add_rule_task(&mut unit, &mut stats, &keys, &event.tenant_id, &task, &policy)?;
                for update in stats.updates(&table, &keys) {
                    unit.include(update);
                }
                let next = automation::check_entry(&event.tenant_id, &rule, &related, at + rule.idle());
                unit.include(next.put(&table));
            }
            IdleDecision::TaskOpen => {
                let next = automation::check_entry(&event.tenant_id, &rule, &related, at + rule.idle());
                unit.include(next.put(&table));
            }
            IdleDecision::LookAgainAt(next) => {
                unit.include(automation::check_entry(&event.tenant_id, &rule, &related, next).put(&table));
            }
            IdleDecision::LetGo => {}
        }
        Ok(unit.into_items())
    }
}

impl Consumer for TaskWork {
    fn name(&self) -> &'static str {
        "task-work"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        match event.detail_type.as_str() {
            "TaskEscalationDue" => escalation::escalate(&self.db, event).await,
            "AutomationCheckDue" => self.check(event).await,
            "LeadCreated" => self.lead_created(event).await,
            "DealChanged" => self.deal_changed(event).await,
            other => Err(refuse(format!("{other} is not task work"))),
        }
    }

    /// An edit of the task between the read and the write, or another run claiming a rule's
    /// marker first: decide again on fresh reads.
    fn retries_conflicts(&self) -> bool {
        true
    }
}

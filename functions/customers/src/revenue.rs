//! The `account-revenue` consumer (`DealWon` events): a won opportunity makes its account a
//! customer (from prospect, or back from churned; an inactive account stays as its people set it)
//! and moves the counters its health reads. Idempotent per event (the harness's claim) and guarded
//! by the account's version: a concurrent edit sends the event round again, to be applied to the
//! account as it is then.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::Utc;
use keel_core::account::{Account, Lifecycle};
use keel_events::{AccountChanged, DealWon, Envelope};
use keel_store::audit::AuditRecord;
use keel_store::crm;
use keel_store::{Db, TenantKeys, UnitOfWork};
use keel_worker::{Consumer, HandlerError};

pub struct AccountRevenue {
    pub db: Db,
}

/// The account after a won opportunity.
pub fn won(account: &Account, deal: &DealWon, at: chrono::DateTime<Utc>) -> Account {
    let mut next = account.clone();
    if matches!(account.lifecycle, Lifecycle::Prospect | Lifecycle::Churned) {
        next.lifecycle = Lifecycle::Customer;
    }
    next.won_opportunities += 1;
    next.open_opportunities = next.open_opportunities.saturating_sub(1);
    if let Some(amount) = &deal.amount {
        *next.won_revenue_minor.entry(amount.currency.clone()).or_default() += amount.value_minor;
    }
    next.last_activity_at = Some(next.last_activity_at.map_or(at, |last| last.max(at)));
    next.version += 1;
    next.updated_at = Utc::now();
    next
}

impl Consumer for AccountRevenue {
    fn name(&self) -> &'static str {
        "account-revenue"
    }

    fn retries_conflicts(&self) -> bool {
        true
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let deal: DealWon = serde_json::from_value(event.detail.clone())
            .map_err(|e| HandlerError::Refuse(format!("unreadable: {e}")))?;
        let keys = TenantKeys::new(&event.tenant_id);
        let retry = |e: keel_store::StoreError| HandlerError::Retry(e.to_string());
        let account: Account = self
            .db
            .get_as(&crm::account_pk(&keys, &deal.account_id), crm::ACCOUNT_SK)
            .await
            .map_err(retry)?
            .ok_or_else(|| HandlerError::Refuse(format!("account {} does not exist", deal.account_id)))?;
        let next = won(&account, &deal, event.occurred_at);
        let changes = AuditRecord::diff(Some(&account.as_json()), &next.as_json(), &Account::RECORDED_FIELDS);
        let mut changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
        changed.extend(["won_opportunities".into(), "open_opportunities".into()]);
        let mut unit = UnitOfWork::new(&self.db);
        unit.replace(crm::account_item(&keys, &next).map_err(retry)?, account.version);
        let update = AccountChanged::updated(&account, &next, changed);
        unit.event(&Envelope::new(&event.tenant_id, event.actor.clone(), Utc::now(), &update)).map_err(retry)?;
        let audit = AuditRecord {
            id: ulid::Ulid::new(),
            at: Utc::now(),
            actor_id: event.actor.user_id.clone(),
            role: event.actor.role.clone(),
            action: "account.deal_won".into(),
            entity_type: "account".into(),
            entity_id: deal.account_id.clone(),
            changes,
            request_id: format!("event:{}", event.event_id),
            source_ip: self.name().into(),
        };
        unit.audit(&keys, &audit).map_err(retry)?;
        Ok(unit.into_items())
    }
}

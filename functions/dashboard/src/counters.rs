//! The `dashboard-counters` consumer: lead events → rollup `ADD`s.

use aws_sdk_dynamodb::types::TransactWriteItem;
use keel_events::lead::{LeadArchived, LeadCreated, LeadUpdated};
use keel_events::{DomainEvent, Envelope};
use keel_store::{Db, TenantKeys};
use keel_worker::{Consumer, HandlerError};

use crate::rollup;

pub struct DashboardCounters {
    pub db: Db,
}

fn detail<T: serde::de::DeserializeOwned>(event: &Envelope) -> Result<T, HandlerError> {
    serde_json::from_value(event.detail.clone())
        .map_err(|e| HandlerError::Retry(format!("{} v{} detail unreadable: {e}", event.detail_type, event.version)))
}

impl Consumer for DashboardCounters {
    fn name(&self) -> &'static str {
        "dashboard-counters"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let keys = TenantKeys::new(&event.tenant_id);
        let delta = match event.detail_type.as_str() {
            LeadCreated::DETAIL_TYPE => {
                let created: LeadCreated = detail(event)?;
                rollup::delta(None, Some(&created))
            }
            LeadUpdated::DETAIL_TYPE => {
                let updated: LeadUpdated = detail(event)?;
                rollup::delta(Some(&updated.before), Some(&updated.after))
            }
            LeadArchived::DETAIL_TYPE => {
                let archived: LeadArchived = detail(event)?;
                let mut after = archived.before.clone();
                after.status = keel_core::LeadStatus::Archived;
                rollup::delta(Some(&archived.before), Some(&after))
            }
            // Not ours (the rule routes only lead events): nothing to count.
            _ => Default::default(),
        };
        Ok(rollup::update(&self.db, &keys, &delta).into_iter().collect())
    }
}

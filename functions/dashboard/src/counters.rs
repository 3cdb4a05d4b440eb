//! The `dashboard-counters` consumer: lead events → rollup `ADD`s.

use std::collections::BTreeMap;

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
        // An unreadable detail stays unreadable: refuse it (recorded with the reason), never retry it.
        .map_err(|e| HandlerError::Refuse(format!("{} v{} detail unreadable: {e}", event.detail_type, event.version)))
}

impl DashboardCounters {
    /// Keeps the rollup item bounded: sources it does not track yet are added only while it tracks
    /// fewer than [`rollup::MAX_TRACKED_SOURCES`]; later ones count under `source#(other)`. (Two
    /// events racing past the cap can add one source each: the bound holds within a batch.)
    async fn bounded(
        &self,
        keys: &TenantKeys,
        delta: BTreeMap<String, i64>,
    ) -> Result<BTreeMap<String, i64>, HandlerError> {
        if !delta.keys().any(|k| k.starts_with(rollup::SOURCE_PREFIX)) {
            return Ok(delta);
        }
        let item = self.db.get(&rollup::pk(keys), rollup::SK).await?.unwrap_or_default();
        Ok(rollup::cap_sources(delta, &item))
    }
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
        let delta = self.bounded(&keys, delta).await?;
        Ok(rollup::update(&self.db, &keys, &delta).into_iter().collect())
    }
}

//! The conversion follow-up consumer (`conversion-followups` queue, `LeadQualified` events): when
//! the company's policy says `auto_convert`, a lead that becomes qualified is converted at once,
//! into a new account, by the same plan and transaction as `POST …/convert`. Redelivered events
//! and leads converted meanwhile change nothing.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::Utc;
use keel_core::conversion::{ConversionIds, ConvertRequest};
use keel_core::qualification::{conversion_eligibility, ConversionTrigger};
use keel_events::{Envelope, LeadQualified};
use keel_store::audit::AuditRecord;
use keel_store::{Db, StoreError, TenantKeys};
use keel_worker::{Consumer, HandlerError};
use ulid::Ulid;

use crate::convert::{conversion_unit, ConversionWrite};
use crate::policy;
use crate::qualification::{latest_assessment, lead_with_history};

pub struct ConversionFollowups {
    pub db: Db,
}

fn retry(e: StoreError) -> HandlerError {
    HandlerError::Retry(e.to_string())
}

impl Consumer for ConversionFollowups {
    fn name(&self) -> &'static str {
        "conversion-followups"
    }

    /// The conversion is guarded by the lead's version: an edit that lands between the read and
    /// the write sends the event round again, and the next attempt converts the lead as it is then
    /// (or finds it converted by hand, and does nothing).
    fn retries_conflicts(&self) -> bool {
        true
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let qualified: LeadQualified = serde_json::from_value(event.detail.clone())
            .map_err(|e| HandlerError::Refuse(format!("unreadable: {e}")))?;
        let keys = TenantKeys::new(&event.tenant_id);
        let policy = policy::read(&self.db, &keys).await.map_err(retry)?;
        if policy.conversion_trigger != ConversionTrigger::AutoConvert {
            return Ok(vec![]);
        }
        let Some((lead, history)) = lead_with_history(&self.db, &keys, &qualified.lead_id).await.map_err(retry)? else {
            return Ok(vec![]);
        };
        // Converted by hand meanwhile, or moved on since it qualified (the same checklist as
        // `POST …/convert`): nothing to do.
        let eligible = conversion_eligibility(&lead, latest_assessment(&history), &policy).iter().all(|c| c.met);
        if !eligible || lead.conversion.is_some() {
            return Ok(vec![]);
        }
        let now = Utc::now();
        let ids = ConversionIds::fresh();
        let pipeline = crate::convert::company_pipeline(&self.db, &keys).await.map_err(retry)?;
        let plan = ConvertRequest::default()
            .plan(&lead, None, &event.actor.user_id, ids, now, &pipeline)
            .map_err(|e| HandlerError::Refuse(format!("the lead cannot be converted as it is: {:?}", e.0)))?;
        let audit = |action: &str, kind: &str, entity: &str, changes| AuditRecord {
            id: Ulid::new(),
            at: now,
            actor_id: event.actor.user_id.clone(),
            role: event.actor.role.clone(),
            action: action.to_string(),
            entity_type: kind.to_string(),
            entity_id: entity.to_string(),
            changes,
            request_id: format!("event:{}", event.event_id),
            source_ip: self.name().to_string(),
        };
        let write = ConversionWrite {
            keys: &keys,
            tenant_id: &event.tenant_id,
            by: event.actor.clone(),
            current: &lead,
            existing: None,
            plan: &plan,
            now,
        };
        let unit = conversion_unit(&self.db, write, audit).map_err(retry)?;
        Ok(unit.into_items())
    }
}

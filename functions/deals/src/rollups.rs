//! The `deal-rollups` consumer (`DealChanged`): applies each change's `after − before` to the
//! forecast (now, and the day's change item its history folds), the board's column totals and the
//! monthly trends with `ADD`s, and records what the change did to each period it touched. Additions
//! commute, so events arriving out of order reach the same totals; the harness's claim per event
//! keeps a redelivery from adding twice. No reads: one transaction per event.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::Duration;
use keel_core::forecast::{change_kind, delta, effect, parse_quarter, periods};
use keel_events::{DealChanged, Envelope};
use keel_store::db::{n, put, s};
use keel_store::revenue::{change_sk, forecast_pk, rollup_writes, CHANGE_RETENTION_DAYS};
use keel_store::{Item, TenantKeys};
use keel_worker::{Consumer, HandlerError};

use crate::forecast::{ChangeSide, ForecastChange};

pub struct DealRollups;

/// The writes that apply one deal event to the rollups of `table`.
pub fn writes(table: &str, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
    let change: DealChanged =
        serde_json::from_value(event.detail.clone()).map_err(|e| HandlerError::Refuse(format!("unreadable: {e}")))?;
    let keys = TenantKeys::new(&event.tenant_id);
    let before = change.before.as_ref();
    let after = Some(&change.after);
    let d = delta(before, after);
    let mut out = rollup_writes(table, &keys, &d, event.occurred_at.date_naive());
    for period in periods(before, after) {
        let Some(kind) = change_kind(before, after, &period) else { continue };
        let record = ForecastChange {
            deal_id: change.opportunity_id.clone(),
            deal_name: change.after.name.clone(),
            kind,
            at: event.occurred_at,
            by: event.actor.user_id.clone(),
            before: before.map(ChangeSide::from),
            after: after.map(ChangeSide::from),
            effect: effect(&d, &period),
        };
        let mut item = Item::new();
        item.insert("pk".into(), s(forecast_pk(&keys, &period)));
        item.insert("sk".into(), s(change_sk(event.occurred_at, &event.event_id.to_string())));
        item.insert("entity".into(), s("forecast_change"));
        let ends = parse_quarter(&period).map(|(_, end)| end).unwrap_or(event.occurred_at.date_naive());
        let expires = ends.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + Duration::days(CHANGE_RETENTION_DAYS);
        item.insert("expires_at".into(), n(expires.timestamp()));
        item.insert(
            "record".into(),
            s(serde_json::to_string(&record).map_err(|e| HandlerError::Refuse(e.to_string()))?),
        );
        out.push(put(table, item));
    }
    Ok(out)
}

/// The consumer's table comes from the harness's `Db` (`keel_function::consumer`).
pub struct DealRollupsIn {
    pub table: String,
}

impl Consumer for DealRollupsIn {
    fn name(&self) -> &'static str {
        "deal-rollups"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        writes(&self.table, event)
    }
}

impl DealRollups {
    pub fn on(table: &str) -> DealRollupsIn {
        DealRollupsIn { table: table.into() }
    }
}

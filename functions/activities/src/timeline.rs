//! The `timeline` consumer: what happened to leads and deals, as system activities on the
//! timelines it concerns. Each event becomes at most one activity whose id is the event's, written
//! with its timeline entries in the harness's transaction, so a redelivered event adds nothing. A
//! conversion copies the lead's history onto the account and contact it became (their timelines
//! show it from then on); activities of an already converted lead show there from the start.

use aws_sdk_dynamodb::types::TransactWriteItem;
use keel_core::activity::{Activity, ActivityType, RecordKind, Related};
use keel_core::lead::Lead;
use keel_core::LeadStatus;
use keel_core::Money;
use keel_events::{DealChanged, Envelope, LeadArchived, LeadConverted, LeadCreated, LeadQualified, LeadUpdated};
use keel_store::db::{from_item, put};
use keel_store::index_page::{page, IndexPage, TABLE};
use keel_store::{crm, Db, TenantKeys};
use keel_worker::{Consumer, HandlerError};
use serde::de::DeserializeOwned;

/// The events the timeline records.
pub const TIMELINE_EVENTS: &[&str] =
    &["LeadCreated", "LeadUpdated", "LeadArchived", "LeadQualified", "LeadConverted", "DealChanged"];

/// How many of a lead's activities are copied at once when it converts.
const COPY_CONCURRENCY: usize = 8;

pub struct Timeline;

impl Timeline {
    pub fn on(db: Db) -> TimelineIn {
        TimelineIn { db }
    }
}

pub struct TimelineIn {
    db: Db,
}

fn detail<T: DeserializeOwned>(event: &Envelope) -> Result<T, HandlerError> {
    serde_json::from_value(event.detail.clone()).map_err(|e| HandlerError::Refuse(format!("unreadable: {e}")))
}

fn related(kind: RecordKind, id: &str) -> Related {
    Related { kind, id: id.to_string() }
}

/// `EUR 50,000.00`: readable in any locale's timeline without guessing the reader's format.
fn money(m: &Option<Money>) -> String {
    let Some(m) = m else { return "no amount".into() };
    let whole = (m.value_minor / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{} {grouped}.{:02}", m.currency, m.value_minor % 100)
}

fn category(c: keel_core::opportunity::ForecastCategory) -> &'static str {
    use keel_core::opportunity::ForecastCategory::*;
    match c {
        Pipeline => "pipeline",
        BestCase => "best case",
        Commit => "commit",
        Closed => "closed",
        Omitted => "omitted",
    }
}

/// A stage key as people read it (`needs_analysis` → "needs analysis").
fn stage(key: &str) -> String {
    key.replace('_', " ")
}

/// What an event records: the system activity's type, subject, body, records and owner.
type Recorded = (ActivityType, String, Option<String>, Vec<Related>, String);

/// The system activity an event stands for (without its timelines' extra records), if any.
fn activity_of(event: &Envelope) -> Result<Option<Recorded>, HandlerError> {
    let lead = |id: &str| vec![related(RecordKind::Lead, id)];
    Ok(match event.detail_type.as_str() {
        "LeadCreated" => {
            let d: LeadCreated = detail(event)?;
            let body = format!(
                "From {} (campaign {}, medium {}); score {} ({}).",
                d.source,
                d.campaign,
                d.medium,
                d.score,
                d.score_band.as_str()
            );
            Some((ActivityType::System, "Lead captured".into(), Some(body), lead(&d.lead_id), d.owner_id))
        }
        "LeadUpdated" => {
            let d: LeadUpdated = detail(event)?;
            // Qualification and conversion have their own events (and conversion its own
            // activity): their status moves are not recorded twice.
            let own_event = matches!(d.after.status, LeadStatus::Qualified | LeadStatus::Converted);
            if d.before.status != d.after.status && !own_event {
                let subject =
                    format!("Status changed from {} to {}", d.before.status.as_str(), d.after.status.as_str());
                Some((ActivityType::System, subject, None, lead(&d.lead_id), d.after.owner_id))
            } else if d.before.owner_id != d.after.owner_id {
                Some((ActivityType::System, "Owner changed".into(), None, lead(&d.lead_id), d.after.owner_id))
            } else {
                None
            }
        }
        "LeadArchived" => {
            let d: LeadArchived = detail(event)?;
            Some((ActivityType::System, "Lead archived".into(), None, lead(&d.lead_id), d.before.owner_id))
        }
        "LeadQualified" => {
            let d: LeadQualified = detail(event)?;
            let subject = format!("Qualified with a score of {}", d.score);
            Some((ActivityType::System, subject, None, lead(&d.lead_id), d.owner_id))
        }
        "DealChanged" => {
            let d: DealChanged = detail(event)?;
            let records =
                vec![related(RecordKind::Deal, &d.opportunity_id), related(RecordKind::Account, &d.account_id)];
            let a = &d.after;
            let from = d.before.as_ref().map(|b| stage(&b.stage)).unwrap_or_default();
            let (kind, subject, body) = match d.change.as_str() {
                "created" => (
                    ActivityType::System,
                    format!("Deal {} opened", a.name),
                    Some(format!("{} in {}, closing {}.", money(&a.amount), stage(&a.stage), a.close_date)),
                ),
                "stage_moved" => (
                    ActivityType::StageChange,
                    format!("{}: {from} → {}", a.name, stage(&a.stage)),
                    Some(format!("Probability {} %, forecast {}.", a.probability, category(a.forecast_category))),
                ),
                "won" => (ActivityType::StageChange, format!("Deal {} won", a.name), Some(money(&a.amount))),
                "lost" => (ActivityType::StageChange, format!("Deal {} lost", a.name), Some(format!("Was in {from}."))),
                "archived" => (ActivityType::System, format!("Deal {} archived", a.name), None),
                "updated" => {
                    let moved: Vec<&str> = d
                        .changed
                        .iter()
                        .map(String::as_str)
                        .filter(|f| matches!(*f, "amount" | "close_date" | "owner_id"))
                        .collect();
                    if moved.is_empty() {
                        return Ok(None);
                    }
                    let body = format!("Now {}, closing {}.", money(&a.amount), a.close_date);
                    (
                        ActivityType::System,
                        format!("Deal {} changed: {}", a.name, moved.join(", ").replace('_', " ")),
                        Some(body),
                    )
                }
                _ => return Ok(None),
            };
            Some((kind, subject, body, records, a.owner_id.clone()))
        }
        _ => None,
    })
}

/// The account and contact a converted lead became: activities about it show there too.
pub(crate) async fn converted_into(
    db: &Db,
    keys: &TenantKeys,
    lead_id: &str,
) -> Result<Vec<Related>, keel_store::StoreError> {
    let lead: Option<Lead> = db.get_as(&keys.lead(lead_id), crm::record_sk(RecordKind::Lead)).await?;
    Ok(lead
        .and_then(|l| l.conversion)
        .map(|c| vec![related(RecordKind::Account, &c.account_id), related(RecordKind::Contact, &c.contact_id)])
        .unwrap_or_default())
}

impl TimelineIn {
    /// Shows every activity of the lead's timeline on the account and contact it became: each
    /// activity (and all its entries) is rewritten at the version read, so an edit racing the copy
    /// makes the event retry rather than lose either. Copies already made are skipped.
    async fn copy_history(&self, keys: &TenantKeys, c: &LeadConverted) -> Result<(), HandlerError> {
        let extra = [related(RecordKind::Account, &c.account_id), related(RecordKind::Contact, &c.contact_id)];
        let mut start = None;
        loop {
            let q =
                IndexPage { start, ..IndexPage::collection(TABLE, keys.lead(&c.lead_id), Some(crm::TIMELINE), 100) };
            let (items, last) = page(&self.db, q).await?;
            let pending: Vec<Activity> = items
                .into_iter()
                .map(from_item::<Activity>)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|a| extra.iter().any(|r| !a.timelines().any(|t| t == r)))
                .collect();
            for chunk in pending.chunks(COPY_CONCURRENCY) {
                let writes = chunk.iter().map(|a| self.show_on(keys, a, &extra));
                futures::future::try_join_all(writes).await?;
            }
            match last {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }

    async fn show_on(&self, keys: &TenantKeys, a: &Activity, extra: &[Related]) -> Result<(), HandlerError> {
        let mut next = a.clone();
        for r in extra {
            if !next.timelines().any(|t| t == r) {
                next.shown_on.push(r.clone());
            }
        }
        next.version = a.version + 1;
        let table = &self.db.table;
        let activity = aws_sdk_dynamodb::types::Put::builder()
            .table_name(table)
            .set_item(Some(crm::activity_item(keys, &next)?))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", keel_store::db::n(a.version))
            .build()
            .map_err(|e| HandlerError::Refuse(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().put(activity).build()];
        for entry in crm::timeline_items(keys, &next)? {
            items.push(put(table, entry));
        }
        // A failed condition is an edit that landed since the read: retried with fresh reads.
        self.db.transact(items, None).await.map_err(|e| HandlerError::Retry(format!("copying {}: {e}", a.id)))
    }
}

impl Consumer for TimelineIn {
    fn name(&self) -> &'static str {
        "timeline"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let keys = TenantKeys::new(&event.tenant_id);
        if event.detail_type == "LeadConverted" {
            // The conversion wrote its own activity on all four records, in its transaction.
            let c: LeadConverted = detail(event)?;
            self.copy_history(&keys, &c).await?;
            return Ok(vec![]);
        }
        let Some((activity_type, subject, body, related, owner_id)) = activity_of(event)? else {
            return Ok(vec![]);
        };
        let shown_on = match related.iter().find(|r| r.kind == RecordKind::Lead) {
            Some(lead) => converted_into(&self.db, &keys, &lead.id).await?,
            None => vec![],
        };
        let activity = Activity {
            id: event.event_id,
            activity_type,
            subject,
            body,
            related,
            occurred_at: event.occurred_at,
            duration_minutes: None,
            outcome: None,
            owner_id,
            created_by: event.actor.user_id.clone(),
            created_at: event.occurred_at,
            version: 1,
            shown_on,
        };
        let table = &self.db.table;
        let mut writes = vec![put(table, crm::activity_item(&keys, &activity)?)];
        for entry in crm::timeline_items(&keys, &activity)? {
            writes.push(put(table, entry));
        }
        Ok(writes)
    }

    fn retries_conflicts(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_with_thousands() {
        let m = |v| money(&Some(Money { value_minor: v, currency: "EUR".into() }));
        assert_eq!([m(5_000_000), m(99), m(12_345_678_901)], ["EUR 50,000.00", "EUR 0.99", "EUR 123,456,789.01"]);
        assert_eq!(money(&None), "no amount");
    }
}

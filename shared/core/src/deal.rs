//! The rules of a deal's life: creating one on an account, editing it, moving it through its
//! pipeline's stages (won and lost are terminal), archiving it. Pure: the deals context reads,
//! decides here, and writes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::field_error::{line, FieldErrors};
use crate::money::Money;
use crate::opportunity::{ForecastCategory, Opportunity, OpportunityContact, OpportunityStatus, OpportunityType};
use crate::pipeline::{Pipeline, DEFAULT_PIPELINE};

/// Contacts one deal may name.
pub const MAX_CONTACTS: usize = 20;

/// A new deal, on an account that exists.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeal {
    pub name: String,
    pub account_id: String,
    /// The account's contacts that take part; exactly one is primary (the first, unless told).
    #[serde(default)]
    pub contacts: Vec<OpportunityContact>,
    pub amount: Option<Money>,
    /// `YYYY-MM-DD`
    #[schema(value_type = String, example = "2027-03-31")]
    pub close_date: String,
    /// The pipeline (default `default`).
    pub pipeline_id: Option<String>,
    /// An open stage of the pipeline (default: its first).
    pub stage: Option<String>,
    /// 0-100; default: the stage's.
    pub probability: Option<u8>,
    /// `pipeline`, `best_case` or `commit`; default: the stage's.
    pub forecast_category: Option<ForecastCategory>,
    pub owner_id: Option<String>,
    pub source_lead_id: Option<String>,
    pub next_step: Option<String>,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub opportunity_type: Option<OpportunityType>,
}

/// What an edit may change. Stages move through `move-stage`; a closed deal keeps its amount,
/// close date, probability and category (its revenue or loss is booked).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealPatch {
    pub name: Option<String>,
    pub contacts: Option<Vec<OpportunityContact>>,
    pub amount: Option<Money>,
    #[schema(value_type = Option<String>, example = "2027-03-31")]
    pub close_date: Option<String>,
    pub probability: Option<u8>,
    pub forecast_category: Option<ForecastCategory>,
    pub owner_id: Option<String>,
    pub next_step: Option<String>,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub opportunity_type: Option<OpportunityType>,
    /// The version you read (or send `If-Match`).
    pub version: Option<u64>,
}

/// `PUT …/deals/{id}/move-stage`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageMove {
    pub stage: String,
    /// The version you read.
    pub version: u64,
    /// Required for the lost stage.
    pub lost_reason: Option<String>,
}

/// A stage the deal has left: when it entered and left, and how long it stayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageVisit {
    pub stage: String,
    pub entered_at: DateTime<Utc>,
    /// None for the stage the deal is in.
    pub left_at: Option<DateTime<Utc>>,
    /// Whole seconds in the stage (up to now for the current one).
    pub seconds_in_stage: i64,
    pub moved_by: Option<String>,
}

fn close_date(e: &mut FieldErrors, raw: &str, today: NaiveDate) -> NaiveDate {
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) if d >= today - Duration::days(5 * 366) && d <= today + Duration::days(10 * 366) => d,
        Ok(_) => {
            e.add("close_date", "must be within five years before and ten years after today");
            today
        }
        Err(_) => {
            e.add("close_date", "must be a date like 2027-03-31");
            today
        }
    }
}

fn check_contacts(e: &mut FieldErrors, contacts: &[OpportunityContact]) -> Vec<OpportunityContact> {
    if contacts.len() > MAX_CONTACTS {
        e.add("contacts", format!("at most {MAX_CONTACTS} contacts"));
        return vec![];
    }
    for (i, c) in contacts.iter().enumerate() {
        if !crate::field_error::is_record_id(&c.contact_id) {
            e.add(&format!("contacts[{i}].contact_id"), "must be a contact's id");
        } else if contacts[..i].iter().any(|o| o.contact_id == c.contact_id) {
            e.add(&format!("contacts[{i}].contact_id"), "is named twice");
        }
    }
    let mut out = contacts.to_vec();
    match out.iter().filter(|c| c.primary).count() {
        0 if !out.is_empty() => out[0].primary = true,
        0 | 1 => {}
        _ => e.add("contacts", "exactly one contact is primary"),
    }
    out
}

fn open_category(e: &mut FieldErrors, c: ForecastCategory) {
    if !matches!(c, ForecastCategory::Pipeline | ForecastCategory::BestCase | ForecastCategory::Commit) {
        e.add("forecast_category", "an open deal forecasts as pipeline, best_case or commit");
    }
}

fn probability(e: &mut FieldErrors, p: u8) {
    if p > 100 {
        e.add("probability", "must be 0-100");
    }
}

impl NewDeal {
    /// The pipeline this deal goes into.
    pub fn pipeline_id(&self) -> &str {
        self.pipeline_id.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or(DEFAULT_PIPELINE)
    }

    /// The deal as it will be created by `actor`, or every field at fault.
    pub fn validate(
        &self,
        pipeline: &Pipeline,
        id: Ulid,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Opportunity, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = line(&mut e, "name", Some(&self.name), true, 200).unwrap_or_default();
        if !crate::field_error::is_record_id(self.account_id.trim()) {
            e.add("account_id", "must be an account's id");
        }
        let contacts = check_contacts(&mut e, &self.contacts);
        if let Some(a) = &self.amount {
            a.validate(&mut e, "amount");
        }
        let close = close_date(&mut e, &self.close_date, now.date_naive());
        let stage = match self.stage.as_deref().map(str::trim) {
            None | Some("") => Some(pipeline.first_open()),
            Some(key) => match pipeline.stage(key) {
                Some(s) if s.status == OpportunityStatus::Open => Some(s),
                Some(_) => {
                    e.add("stage", "a deal starts in an open stage; move it to a closed one afterwards");
                    None
                }
                None => {
                    let keys: Vec<&str> = pipeline
                        .stages
                        .iter()
                        .filter(|s| s.status == OpportunityStatus::Open)
                        .map(|s| s.key.as_str())
                        .collect();
                    e.add("stage", format!("must be an open stage of the pipeline: {}", keys.join(", ")));
                    None
                }
            },
        };
        if let Some(p) = self.probability {
            probability(&mut e, p);
        }
        if let Some(c) = self.forecast_category {
            open_category(&mut e, c);
        }
        let owner_id = line(&mut e, "owner_id", self.owner_id.as_deref(), false, 64).unwrap_or_else(|| actor.into());
        let source_lead_id = line(&mut e, "source_lead_id", self.source_lead_id.as_deref(), false, 64);
        if source_lead_id.as_deref().is_some_and(|l| !crate::field_error::is_record_id(l)) {
            e.add("source_lead_id", "must be a lead's id");
        }
        let next_step = line(&mut e, "next_step", self.next_step.as_deref(), false, 500);
        let Some(stage) = stage.filter(|_| e.is_empty()) else {
            return Err(e);
        };
        Ok(Opportunity {
            id,
            name,
            account_id: self.account_id.trim().into(),
            contacts,
            amount: self.amount.clone(),
            close_date: close,
            stage: stage.key.clone(),
            probability: self.probability.unwrap_or(stage.probability),
            forecast_category: self.forecast_category.unwrap_or(stage.forecast_category),
            status: OpportunityStatus::Open,
            opportunity_type: self.opportunity_type.unwrap_or(OpportunityType::NewBusiness),
            owner_id,
            source_lead_id,
            next_step,
            lost_reason: None,
            pipeline_id: pipeline.id.clone(),
            stage_entered_at: Some(now),
            closed_at: None,
            archived_at: None,
            version: 1,
            created_by: actor.into(),
            created_at: now,
            updated_at: now,
        })
    }
}

fn refuse_archived(e: &mut FieldErrors, deal: &Opportunity) {
    if deal.is_archived() {
        e.add("archived_at", "the deal is archived: it stays readable and no longer changes");
    }
}

impl DealPatch {
    /// The deal after the edit (version not yet moved), or every field at fault. Field errors
    /// are 400s except the rules (`closed`, `archived`), which the caller reports as 422.
    pub fn apply(&self, deal: &Opportunity, now: DateTime<Utc>) -> Result<Opportunity, (FieldErrors, bool)> {
        let mut e = FieldErrors::default();
        let mut rules = FieldErrors::default();
        refuse_archived(&mut rules, deal);
        let mut next = deal.clone();
        if let Some(name) = &self.name {
            next.name = line(&mut e, "name", Some(name), true, 200).unwrap_or_default();
        }
        if let Some(contacts) = &self.contacts {
            next.contacts = check_contacts(&mut e, contacts);
        }
        if let Some(owner) = &self.owner_id {
            next.owner_id = line(&mut e, "owner_id", Some(owner), true, 64).unwrap_or_default();
        }
        if let Some(step) = &self.next_step {
            next.next_step = line(&mut e, "next_step", Some(step), false, 500);
        }
        if let Some(t) = self.opportunity_type {
            next.opportunity_type = t;
        }
        if let Some(a) = &self.amount {
            a.validate(&mut e, "amount");
            next.amount = Some(a.clone());
        }
        if let Some(raw) = &self.close_date {
            next.close_date = close_date(&mut e, raw, now.date_naive());
        }
        if let Some(p) = self.probability {
            probability(&mut e, p);
            next.probability = p;
        }
        if let Some(c) = self.forecast_category {
            if !deal.is_closed() {
                open_category(&mut e, c);
            }
            next.forecast_category = c;
        }
        if deal.is_closed()
            && (next.amount != deal.amount
                || next.close_date != deal.close_date
                || next.probability != deal.probability
                || next.forecast_category != deal.forecast_category)
        {
            rules.add("stage", "a closed deal keeps its amount, close date, probability and category");
        }
        if !e.is_empty() {
            return Err((e, false));
        }
        if !rules.is_empty() {
            return Err((rules, true));
        }
        next.updated_at = now;
        Ok(next)
    }
}

/// The deal in `to`: the stage's probability and category, closed stages terminal and dated
/// (a closed deal's close date is the day it closed), `lost_reason` required for the lost stage.
/// Errors are rule violations (422).
pub fn move_stage(
    deal: &Opportunity,
    pipeline: &Pipeline,
    to: &str,
    lost_reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Opportunity, FieldErrors> {
    let mut e = FieldErrors::default();
    refuse_archived(&mut e, deal);
    if deal.is_closed() {
        e.add("stage", "the deal is closed: won and lost are final");
    }
    let Some(stage) = pipeline.stage(to.trim()) else {
        let keys: Vec<&str> = pipeline.stages.iter().map(|s| s.key.as_str()).collect();
        e.add("stage", format!("must be a stage of the pipeline: {}", keys.join(", ")));
        return Err(e);
    };
    let reason = line(&mut e, "lost_reason", lost_reason, stage.status == OpportunityStatus::Lost, 500);
    if !e.is_empty() {
        return Err(e);
    }
    let mut next = deal.clone();
    next.stage = stage.key.clone();
    next.status = stage.status;
    next.probability = stage.probability;
    next.forecast_category = stage.forecast_category;
    next.stage_entered_at = Some(now);
    if stage.status != OpportunityStatus::Open {
        next.closed_at = Some(now);
        next.close_date = now.date_naive();
    }
    if stage.status == OpportunityStatus::Lost {
        next.lost_reason = reason;
    }
    next.updated_at = now;
    Ok(next)
}

/// The deal archived (a manager's decision; idempotent on an archived deal).
pub fn archive(deal: &Opportunity, now: DateTime<Utc>) -> Opportunity {
    let mut next = deal.clone();
    if next.archived_at.is_none() {
        next.archived_at = Some(now);
        next.updated_at = now;
    }
    next
}

/// The visit a move ends: the stage left, since when, until `now`.
pub fn visit_left(deal: &Opportunity, now: DateTime<Utc>, by: &str) -> StageVisit {
    let entered_at = deal.stage_entered_at.unwrap_or(deal.created_at);
    StageVisit {
        stage: deal.stage.clone(),
        entered_at,
        left_at: Some(now),
        seconds_in_stage: (now - entered_at).num_seconds().max(0),
        moved_by: Some(by.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(stage: Option<&str>) -> NewDeal {
        NewDeal {
            name: "Acme renewal".into(),
            account_id: Ulid::new().to_string(),
            amount: Some(Money { value_minor: 10_000, currency: "EUR".into() }),
            close_date: "2027-01-15".into(),
            stage: stage.map(Into::into),
            ..Default::default()
        }
    }

    fn deal() -> Opportunity {
        new(None).validate(&Pipeline::default_for_company(), Ulid::new(), "u1", Utc::now()).unwrap()
    }

    #[test]
    fn a_new_deal_takes_its_stages_defaults_and_starts_open() {
        let d = deal();
        assert_eq!(
            (d.stage.as_str(), d.probability, d.forecast_category),
            ("prospecting", 10, ForecastCategory::Pipeline)
        );
        let e = new(Some("closed_won")).validate(&Pipeline::default_for_company(), Ulid::new(), "u", Utc::now());
        assert_eq!(e.unwrap_err().0[0].field, "stage");
        let mut bad = new(Some("nope"));
        bad.forecast_category = Some(ForecastCategory::Closed);
        bad.contacts = vec![
            OpportunityContact { contact_id: "01J0000000000000000000000A".into(), primary: true },
            OpportunityContact { contact_id: "01J0000000000000000000000B".into(), primary: true },
        ];
        let e = bad.validate(&Pipeline::default_for_company(), Ulid::new(), "u", Utc::now()).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["contacts", "stage", "forecast_category"]);
    }

    #[test]
    fn won_and_lost_are_terminal_and_lost_needs_a_reason() {
        let p = Pipeline::default_for_company();
        let d = deal();
        let e = move_stage(&d, &p, "closed_lost", None, Utc::now()).unwrap_err();
        assert_eq!(e.0[0].field, "lost_reason");
        let lost = move_stage(&d, &p, "closed_lost", Some("price"), Utc::now()).unwrap();
        assert_eq!(
            (lost.status, lost.probability, lost.forecast_category),
            (OpportunityStatus::Lost, 0, ForecastCategory::Omitted)
        );
        assert_eq!(lost.close_date, Utc::now().date_naive());
        assert!(move_stage(&lost, &p, "proposal", None, Utc::now()).is_err());
        let won = move_stage(&d, &p, "closed_won", None, Utc::now()).unwrap();
        assert_eq!(won.forecast_category, ForecastCategory::Closed);
        let patch = DealPatch { amount: Some(Money { value_minor: 1, currency: "EUR".into() }), ..Default::default() };
        assert!(matches!(patch.apply(&won, Utc::now()), Err((_, true))));
        let rename = DealPatch { name: Some("Acme 2027".into()), ..Default::default() };
        assert!(rename.apply(&won, Utc::now()).is_ok());
    }

    #[test]
    fn an_open_deal_may_override_its_category_between_open_ones() {
        let d = deal();
        let commit = DealPatch { forecast_category: Some(ForecastCategory::Commit), ..Default::default() };
        assert_eq!(commit.apply(&d, Utc::now()).unwrap().forecast_category, ForecastCategory::Commit);
        let closed = DealPatch { forecast_category: Some(ForecastCategory::Closed), ..Default::default() };
        assert!(matches!(closed.apply(&d, Utc::now()), Err((_, false))));
        let archived = archive(&d, Utc::now());
        assert!(matches!(DealPatch::default().apply(&archived, Utc::now()), Err((_, true))));
        assert!(move_stage(&archived, &Pipeline::default_for_company(), "proposal", None, Utc::now()).is_err());
    }
}

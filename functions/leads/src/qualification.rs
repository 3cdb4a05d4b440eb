//! A lead's qualification history (assessments and decisions, kept in the lead's item collection
//! under `QUAL#<ulid>`) and the reads built on it: `GET …/qualification` and `GET …/risk-score`.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
pub use keel_core::qualification::HistoryEntry;
use keel_core::qualification::{conversion_eligibility, risk_score, Assessment, Condition, RiskScore};
use keel_core::{Lead, LeadStatus};
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::db::{from_item, s, to_item};
use keel_store::{Db, Item, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{policy, repo};
use keel_http::path::record_id;
use keel_store::leads::{LEAD_SK, QUALIFICATION_PREFIX as RECORD_PREFIX};
/// How much history one read returns (newest first).
pub const HISTORY_LIMIT: i32 = 50;

/// The history entry's item in the lead's collection.
pub fn entry_item(keys: &TenantKeys, lead_id: &str, entry: &HistoryEntry) -> Result<Item, StoreError> {
    let mut item = to_item(entry)?;
    item.insert("pk".into(), s(keys.lead(lead_id)));
    item.insert("sk".into(), s(format!("{RECORD_PREFIX}{}", entry.id())));
    item.insert("entity".into(), s("qualification_record"));
    Ok(item)
}

/// The lead and its latest history, newest first: one `Query` of the lead's collection (`sk >=
/// LEAD` reads the lead and its `QUAL#` records, not its timeline), plus a `GetItem` only when the
/// history is longer than one page.
pub async fn lead_with_history(
    db: &Db,
    keys: &TenantKeys,
    lead_id: &str,
) -> Result<Option<(Lead, Vec<HistoryEntry>)>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("pk = :pk AND sk >= :lead")
        .expression_attribute_values(":pk", s(keys.lead(lead_id)))
        .expression_attribute_values(":lead", s(LEAD_SK))
        .scan_index_forward(false)
        .limit(HISTORY_LIMIT + 1)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let mut lead = None;
    let mut history = Vec::new();
    for item in out.items.unwrap_or_default() {
        let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        if sk == LEAD_SK {
            lead = Some(from_item::<Lead>(item)?);
        } else if sk.starts_with(RECORD_PREFIX) && history.len() < HISTORY_LIMIT as usize {
            history.push(from_item::<HistoryEntry>(item)?);
        }
    }
    if lead.is_none() && !history.is_empty() {
        lead = repo::get(db, keys, lead_id).await?;
    }
    Ok(lead.map(|l| (l, history)))
}

pub fn latest_assessment(history: &[HistoryEntry]) -> Option<&Assessment> {
    history.iter().find_map(|e| match e {
        HistoryEntry::Assessment(a) => Some(a.as_ref()),
        HistoryEntry::Decision(_) => None,
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QualificationView {
    pub lead_id: String,
    pub status: LeadStatus,
    /// The latest assessment, if any.
    pub current: Option<Assessment>,
    /// Assessments and decisions, newest first (the latest 50).
    pub history: Vec<HistoryEntry>,
    /// Each condition for conversion, met or not and why.
    pub conversion_eligibility: Vec<Condition>,
    pub eligible: bool,
}

/// The lead's current assessment, its history and whether it may be converted.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/qualification",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses((status = 200, description = "The qualification", body = QualificationView)),
    security(("bearer" = []))
)]
pub async fn get_qualification(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Json<QualificationView>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&raw)?;
    let (found, policy) = tokio::try_join!(lead_with_history(&app.db, keys, id), policy::read(&app.db, keys))?;
    let (lead, history) = found.ok_or(ApiError::NotFound)?;
    let current = latest_assessment(&history).cloned();
    let conditions = conversion_eligibility(&lead, current.as_ref(), &policy);
    Ok(Json(QualificationView {
        lead_id: id.to_string(),
        status: lead.status,
        eligible: conditions.iter().all(|c| c.met),
        conversion_eligibility: conditions,
        current,
        history,
    }))
}

/// The lead's risk (0–100) with each factor, its weight and why it applies or not; the same
/// inputs always give the same score.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/risk-score",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses((status = 200, description = "The risk score", body = RiskScore)),
    security(("bearer" = []))
)]
pub async fn get_risk_score(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Json<RiskScore>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let (lead, history) = lead_with_history(&app.db, keys, record_id(&raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(risk_score(&lead, latest_assessment(&history), Utc::now())))
}

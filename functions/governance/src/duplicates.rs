//! Possible duplicates: `GET …/leads/{lead_id}/duplicates` lists the leads that may be the same
//! person, with the rules that matched and how alike the names are; the `duplicate-index`
//! consumer files every lead under its match keys as lead events arrive, so the list costs a few
//! queries however many leads the company has.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::duplicates::{compare, MatchRule};
use keel_core::{Lead, LeadStatus};
use keel_events::{DomainEvent, Envelope, LeadCreated, LeadUpdated};
use keel_http::path::record_id;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::duplicates::{self, filed, refile, wanted};
use keel_store::{leads, lookup, Db, TenantKeys, TransactWriteItem};
use keel_worker::{Consumer, HandlerError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Candidates looked at (one BatchGetItem) and listed.
const LOOKED_AT: usize = 40;
const LISTED: usize = 20;

/// A lead that may be the same person, as the list shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CandidateLead {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: LeadStatus,
    pub owner_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Lead> for CandidateLead {
    fn from(l: &Lead) -> Self {
        CandidateLead {
            id: l.id.to_string(),
            first_name: l.first_name.clone(),
            last_name: l.last_name.clone(),
            company_name: l.company_name.clone(),
            email: l.email.as_ref().map(|e| e.as_str().to_string()),
            phone: l.phone.as_ref().map(|p| p.as_str().to_string()),
            status: l.status,
            owner_id: l.owner_id.clone(),
            created_at: l.created_at,
        }
    }
}

/// A lead that may be the same person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DuplicateCandidate {
    pub lead: CandidateLead,
    /// What matched: `same_email`, `same_phone` (also the same national number under another
    /// country code with a similar name), `similar_name_same_company`, `similar_name_same_domain`.
    pub rules: Vec<MatchRule>,
    /// How alike the two names are, 0–1 (Jaro–Winkler; 0.85 and up counts as similar).
    pub similarity: f64,
}

/// A lead's possible duplicates, most certain first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Duplicates {
    pub lead_id: String,
    pub candidates: Vec<DuplicateCandidate>,
}

/// The leads that may be the same person as this one — the same email or phone, or a similar
/// name at the same company or work email domain — most certain first (at most 20). They are
/// flagged, never blocked: merging is a person's decision. A change shows here within seconds
/// (the index follows lead events).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/duplicates",
    tag = "governance",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses((status = 200, description = "Possible duplicates", body = Duplicates)),
    security(("bearer" = []))
)]
pub async fn lead_duplicates(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, lead_id)): ApiPath<(Id, Id)>,
) -> Result<Json<Duplicates>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&lead_id)?.to_string();
    let lead = leads::get(&app.db, keys, &id).await?.ok_or(ApiError::NotFound)?;
    let ids = duplicates::candidates(&app.db, keys, &lead, LOOKED_AT).await?;
    let found = if ids.is_empty() { Default::default() } else { lookup::leads(&app.db, keys, ids).await? };
    let mut candidates: Vec<DuplicateCandidate> = found
        .into_values()
        .filter_map(|other| {
            let (rules, similarity) = compare(&lead, &other)?;
            let similarity = (similarity * 100.0).round() / 100.0;
            Some(DuplicateCandidate { lead: CandidateLead::from(&other), rules, similarity })
        })
        .collect();
    candidates.sort_by(|a, b| {
        let exact = |c: &DuplicateCandidate| c.rules.iter().any(|r| r.exact());
        exact(b).cmp(&exact(a)).then(b.similarity.total_cmp(&a.similarity)).then(b.lead.id.cmp(&a.lead.id))
    });
    candidates.truncate(LISTED);
    Ok(Json(Duplicates { lead_id: id, candidates }))
}

/// The `duplicate-index` consumer: files the lead an event names under the keys it has now.
pub struct DuplicateIndex {
    pub db: Db,
}

fn lead_id(event: &Envelope) -> Result<String, HandlerError> {
    let id = match event.detail_type.as_str() {
        LeadCreated::DETAIL_TYPE => serde_json::from_value::<LeadCreated>(event.detail.clone()).map(|d| d.lead_id),
        LeadUpdated::DETAIL_TYPE => serde_json::from_value::<LeadUpdated>(event.detail.clone()).map(|d| d.lead_id),
        other => return Err(HandlerError::Refuse(format!("{other} is not a lead change"))),
    };
    // An unreadable detail stays unreadable: refuse it (recorded with the reason), never retry it.
    id.map_err(|e| HandlerError::Refuse(format!("{} v{} detail unreadable: {e}", event.detail_type, event.version)))
}

impl Consumer for DuplicateIndex {
    fn name(&self) -> &'static str {
        "duplicate-index"
    }

    /// Filing reads the lead and what it is filed under, and writes on condition that the latter
    /// is unchanged: two events of one lead racing make the later read again.
    fn retries_conflicts(&self) -> bool {
        true
    }

    /// Whatever the event says, the lead as it is now is filed (events of one lead can arrive in
    /// any order; a redelivered one finds the lead filed and writes nothing).
    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let keys = TenantKeys::new(&event.tenant_id);
        let id = lead_id(event)?;
        let (lead, was) = tokio::try_join!(leads::get(&self.db, &keys, &id), filed(&self.db, &keys, &id))?;
        let Some(lead) = lead else {
            return Ok(vec![]);
        };
        if was.as_ref().is_some_and(|f| f.version >= lead.version) {
            return Ok(vec![]);
        }
        Ok(refile(&self.db, &keys, &lead, &wanted(&lead), was.as_ref())?)
    }
}

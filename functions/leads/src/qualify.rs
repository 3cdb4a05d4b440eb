//! `POST …/leads/{lead_id}/qualify`: record a BANT / MEDDICC assessment and apply the company's
//! thresholds. The lead becomes `qualified` when they are met, otherwise it stays in nurturing.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use keel_core::qualification::{Assessment, Condition, Outcome, QualifyRequest};
use keel_core::{Lead, LeadStatus};
use keel_events::{Envelope, LeadCreated, LeadQualified, LeadUpdated};
use keel_http::{
    ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Permission, RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::{Refusal, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::capture::actor;
use crate::qualification::{entry_item, HistoryEntry};
use crate::update::stale;
use crate::{policy, repo};
use keel_http::path::record_id;
use keel_store::leads::to_lead_item;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QualifyResult {
    pub assessment: Assessment,
    /// 0–100: the BANT total, or the MEDDICC score when only MEDDICC was assessed.
    pub score: u8,
    pub outcome: Outcome,
    pub status: LeadStatus,
    /// The lead's version after the assessment.
    pub version: u64,
    pub conditions: Vec<Condition>,
}

/// Refuses a status change on a lead that is history (converted) or put away (archived,
/// disqualified): 422 naming `status`.
pub(crate) fn require_open(lead: &Lead, what: &str) -> Result<(), ApiError> {
    let why = match lead.status {
        LeadStatus::Converted => "the lead has been converted; it is history",
        LeadStatus::Archived => "the lead is archived; restore it first",
        LeadStatus::Unqualified => "the lead is disqualified; a manager can reverse that first",
        _ => return Ok(()),
    };
    Err(ApiError::rule("status", format!("cannot {what}: {why}")))
}

/// The `LeadUpdated` every status move emits, so rollups of lead statuses follow it.
pub(crate) fn updated_event(ctx: &TenantContext, current: &Lead, next: &Lead, changed: Vec<String>) -> Envelope {
    Envelope::new(
        &ctx.tenant_id,
        actor(ctx),
        next.updated_at,
        &LeadUpdated {
            lead_id: next.id.to_string(),
            version: next.version,
            changed,
            before: LeadCreated::from(current),
            after: LeadCreated::from(next),
        },
    )
}

/// Assess a lead. BANT items are 0–25 each (total 0–100); MEDDICC items are unknown, weak or
/// confirmed. The company's thresholds (default: BANT total ≥ 70 and no item at 0) decide the
/// outcome. Send an `Idempotency-Key` to make a retry record one assessment.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/qualify",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = QualifyRequest,
    responses(
        (status = 200, description = "The assessment and its outcome", body = QualifyResult),
        (status = 403, description = "Role may not qualify this lead"),
        (status = 409, description = "The lead changed while it was being assessed"),
        (status = 422, description = "The lead is converted, archived or disqualified"),
    ),
    security(("bearer" = []))
)]
pub async fn qualify_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<QualifyRequest>,
) -> Result<Json<QualifyResult>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "leads.qualify", &ctx.user_id, &body.raw)?.on_record(id);
    let input = body.value.validate().map_err(ApiError::Validation)?;
    let (current, policy) = tokio::try_join!(repo::get(&app.db, keys, id), policy::read(&app.db, keys))?;
    let current = current.ok_or(ApiError::NotFound)?;
    ctx.require_edit(&current.owner_id, &current.owner_id)?;
    require_open(&current, "qualify it")?;
    let now = Utc::now();
    let assessment = Assessment::new(input, &policy, &ctx.user_id, Ulid::new(), now);
    let mut next = current.clone();
    next.status = match assessment.outcome {
        Outcome::Qualified => LeadStatus::Qualified,
        Outcome::Nurturing => LeadStatus::Nurturing,
    };
    next.qualification_score = Some(assessment.score);
    next.status_reason = None;
    next.revisit_on = None;
    next.version += 1;
    next.updated_at = now;
    let result = QualifyResult {
        score: assessment.score,
        outcome: assessment.outcome,
        status: next.status,
        version: next.version,
        conditions: assessment.conditions.clone(),
        assessment: assessment.clone(),
    };
    let response = serde_json::to_vec(&result).map_err(|e| ApiError::Internal(e.to_string()))?;

    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Lead::RECORDED_FIELDS);
    let changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 200, &response, now);
    unit.replace(to_lead_item(keys, &next)?, current.version);
    unit.create(entry_item(keys, id, &HistoryEntry::Assessment(Box::new(assessment.clone())))?);
    if !changed.is_empty() {
        unit.event(&updated_event(&ctx, &current, &next, changed))?;
    }
    if next.status == LeadStatus::Qualified && current.status != LeadStatus::Qualified {
        let qualified = LeadQualified {
            lead_id: id.to_string(),
            version: next.version,
            assessment_id: assessment.id.to_string(),
            owner_id: next.owner_id.clone(),
            score: assessment.score,
        };
        unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &qualified))?;
    }
    unit.audit(keys, &meta.audit(&ctx, "lead.qualify", "lead", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(Json(result)),
        Err(WriteError::Refused(Refusal::KeyUsed)) => Ok(Json(idempotent.replayed(&app.db, keys, now).await?)),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

//! The other qualification outcomes: `POST …/recycle` (back to nurturing, with a reason and a date
//! to look again), `POST …/disqualify` (a reason from the company's list) and
//! `POST …/reverse-decision` (a manager undoes the latest of those two). Each is recorded in the
//! lead's qualification history.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use keel_core::qualification::{Decision, ReasonRequest, RecycleRequest, StatusDecision};
use keel_core::{Lead, LeadStatus};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::{Refusal, TenantKeys, UnitOfWork, WriteError};
use ulid::Ulid;

use crate::qualification::{entry_item, lead_with_history, HistoryEntry};
use crate::qualify::{require_open, updated_event};
use crate::update::stale;
use crate::{policy, repo};
use keel_http::path::record_id;
use keel_store::leads::to_lead_item;

/// A decision about to be written: the lead as it was and will be, and the record of why.
struct Decided<'a> {
    current: &'a Lead,
    next: Lead,
    decision: StatusDecision,
    action: &'static str,
}

/// Writes a decision: the lead moved, the decision recorded, `LeadUpdated` and the audit record.
async fn apply(
    app: &AppState,
    ctx: &TenantContext,
    meta: &RequestMeta,
    keys: &TenantKeys,
    d: Decided<'_>,
) -> Result<Json<Lead>, ApiError> {
    let Decided { current, next, decision, action } = d;
    let id = current.id.to_string();
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Lead::RECORDED_FIELDS);
    let changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(to_lead_item(keys, &next)?, current.version);
    unit.create(entry_item(keys, &id, &HistoryEntry::Decision(decision))?);
    unit.event(&updated_event(ctx, current, &next, changed))?;
    unit.audit(keys, &meta.audit(ctx, action, "lead", &id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(Json(next)),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(app, keys, &id).await),
        Err(e) => Err(e.into()),
    }
}

fn decided(
    current: &Lead,
    decision: Decision,
    status: LeadStatus,
    reason: String,
    ctx: &TenantContext,
) -> StatusDecision {
    StatusDecision {
        id: Ulid::new(),
        decision,
        reason,
        revisit_on: None,
        previous_status: current.status,
        status,
        decided_by: ctx.user_id.clone(),
        decided_at: Utc::now(),
    }
}

/// Whether the decision asked for holds already (a retry whose answer was lost): nothing to write.
fn already(current: &Lead, status: LeadStatus, reason: &str) -> bool {
    current.status == status && current.status_reason.as_deref() == Some(reason)
}

fn moved(current: &Lead, status: LeadStatus) -> Lead {
    let mut next = current.clone();
    next.status = status;
    next.version += 1;
    next.updated_at = Utc::now();
    next
}

/// Send a lead back to nurturing with the reason and the date to look at it again.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/recycle",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    request_body = RecycleRequest,
    responses(
        (status = 200, description = "The recycled lead", body = Lead),
        (status = 403, description = "Role may not change this lead"),
        (status = 409, description = "The lead changed meanwhile"),
        (status = 422, description = "The lead is converted, archived or disqualified"),
    ),
    security(("bearer" = []))
)]
pub async fn recycle_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<RecycleRequest>,
) -> Result<Json<Lead>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let (reason, revisit_on) = body.value.validate(Utc::now().date_naive()).map_err(ApiError::Validation)?;
    let current = repo::get(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    ctx.require_edit(&current.owner_id, &current.owner_id)?;
    if already(&current, LeadStatus::Nurturing, &reason) && current.revisit_on == Some(revisit_on) {
        return Ok(Json(current));
    }
    require_open(&current, "recycle it")?;
    let mut next = moved(&current, LeadStatus::Nurturing);
    next.status_reason = Some(reason.clone());
    next.revisit_on = Some(revisit_on);
    let mut decision = decided(&current, Decision::Recycled, LeadStatus::Nurturing, reason, &ctx);
    decision.revisit_on = Some(revisit_on);
    apply(&app, &ctx, &meta, keys, Decided { current: &current, next, decision, action: "lead.recycle" }).await
}

/// Disqualify a lead for one of the company's reasons (`disqualify_reasons` of the policy).
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/disqualify",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The disqualified lead", body = Lead),
        (status = 403, description = "Role may not change this lead"),
        (status = 409, description = "The lead changed meanwhile"),
        (status = 422, description = "Not one of the company's reasons, or the lead cannot be disqualified"),
    ),
    security(("bearer" = []))
)]
pub async fn disqualify_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<ReasonRequest>,
) -> Result<Json<Lead>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let reason = body.value.validate().map_err(ApiError::Validation)?;
    let (current, policy) = tokio::try_join!(repo::get(&app.db, keys, id), policy::read(&app.db, keys))?;
    let current = current.ok_or(ApiError::NotFound)?;
    ctx.require_edit(&current.owner_id, &current.owner_id)?;
    let Some(reason) = policy.disqualify_reasons.iter().find(|r| r.eq_ignore_ascii_case(&reason)).cloned() else {
        return Err(ApiError::rule(
            "reason",
            format!("must be one of your company's reasons: {}", policy.disqualify_reasons.join(", ")),
        ));
    };
    if already(&current, LeadStatus::Unqualified, &reason) {
        return Ok(Json(current));
    }
    require_open(&current, "disqualify it")?;
    let mut next = moved(&current, LeadStatus::Unqualified);
    next.status_reason = Some(reason.clone());
    next.revisit_on = None;
    let decision = decided(&current, Decision::Disqualified, LeadStatus::Unqualified, reason, &ctx);
    apply(&app, &ctx, &meta, keys, Decided { current: &current, next, decision, action: "lead.disqualify" }).await
}

/// Undo a recycle or disqualification that is the lead's latest qualification entry (managers and
/// administrators): the lead returns to the status it had, as long as nothing moved it since.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/reverse-decision",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The lead, back where it was", body = Lead),
        (status = 403, description = "Only managers and administrators reverse decisions"),
        (status = 409, description = "The lead changed meanwhile"),
        (status = 422, description = "No decision to reverse, or the lead has moved on since"),
    ),
    security(("bearer" = []))
)]
pub async fn reverse_decision(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<ReasonRequest>,
) -> Result<Json<Lead>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    let reason = body.value.validate().map_err(ApiError::Validation)?;
    let (current, history) = lead_with_history(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    // Reversed already, with this reason (a retry whose answer was lost): it holds.
    if let Some(HistoryEntry::Decision(d)) = history.first() {
        if d.decision == Decision::Reversed
            && d.reason == reason
            && d.decided_by == ctx.user_id
            && d.status == current.status
        {
            return Ok(Json(current));
        }
    }
    // Only the newest entry: once the lead has been assessed again, that assessment stands.
    let last = match history.first() {
        Some(HistoryEntry::Decision(d)) if d.decision != Decision::Reversed => d,
        _ => {
            return Err(ApiError::rule("status", "the latest qualification entry is not a recycle or disqualification"))
        }
    };
    if current.status != last.status || current.conversion.is_some() {
        return Err(ApiError::rule(
            "status",
            format!("the lead has moved on since (it is {} now)", current.status.as_str()),
        ));
    }
    let mut next = moved(&current, last.previous_status);
    next.status_reason = None;
    next.revisit_on = None;
    let decision = decided(&current, Decision::Reversed, last.previous_status, reason, &ctx);
    apply(&app, &ctx, &meta, keys, Decided { current: &current, next, decision, action: "lead.reverse_decision" }).await
}

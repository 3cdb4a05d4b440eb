//! `/api/companies/{company_id}/tasks/escalation-policy`: how long a task may stay open past its
//! due time before it is escalated (and again between levels). Administrators set it; the new
//! delay applies to escalations still ahead (each is decided against the delay when it falls due).

use axum::extract::State;
use axum::Json;
use keel_core::task::{EscalationPolicy, EscalationPolicyInput};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::{Refusal, UnitOfWork, WriteError};

use crate::repo;

/// The company's escalation policy (24 hours until it sets one).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/tasks/escalation-policy",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The policy", body = EscalationPolicy)),
    security(("bearer" = []))
)]
pub async fn get_policy(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<EscalationPolicy>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    Ok(Json(repo::policy(&app.db, keys).await?))
}

/// Set the escalation delay (administrators). Send the version you read (0 for the default); a
/// stale one is a 409.
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/tasks/escalation-policy",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    request_body = EscalationPolicyInput,
    responses(
        (status = 200, description = "The new policy", body = EscalationPolicy),
        (status = 403, description = "Not an administrator"),
        (status = 409, description = "Changed since you read it"),
    ),
    security(("bearer" = []))
)]
pub async fn put_policy(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<EscalationPolicyInput>,
) -> Result<Json<EscalationPolicy>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let next = body.value.validate().map_err(ApiError::Validation)?;
    let current = repo::policy(&app.db, keys).await?;
    if current.version != body.value.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let mut unit = UnitOfWork::new(&app.db);
    if current.version == 0 {
        unit.create(repo::policy_item(keys, &next)?);
    } else {
        unit.replace(repo::policy_item(keys, &next)?, current.version);
    }
    let to_json = |p: &EscalationPolicy| serde_json::json!({ "delay_hours": p.delay_hours });
    let changes = AuditRecord::diff(Some(&to_json(&current)), &to_json(&next), &["delay_hours"]);
    let (_, sk) = repo::policy_key(keys);
    unit.audit(keys, &meta.audit(&ctx, "tasks.escalation_policy.update", "escalation_policy", sk, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(Json(next)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: Some(repo::policy(&app.db, keys).await?.version) })
        }
        Err(e) => Err(e.into()),
    }
}

//! `GET/PUT /api/companies/{company_id}/data/governance/policies`: the company's governance
//! policy (administrators only; versioned; every change audited).

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use keel_core::governance::{GovernancePolicy, GovernancePolicyUpdate};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::governance::{self, policy_item};
use keel_store::{Refusal, UnitOfWork, WriteError};

/// The company's governance policy (the defaults, version 0, until an administrator saves one).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/data/governance/policies",
    tag = "governance",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The policy", body = GovernancePolicy)),
    security(("bearer" = []))
)]
pub async fn get_policies(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<GovernancePolicy>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    Ok(Json(governance::policy(&app.db, keys).await?))
}

/// Change the policy: send the `version` you read (a stale one is a 409) and what changes. What
/// each channel needs applies from the next send on.
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/data/governance/policies",
    tag = "governance",
    params(("company_id" = Id, Path)),
    request_body = GovernancePolicyUpdate,
    responses(
        (status = 200, description = "The saved policy", body = GovernancePolicy),
        (status = 409, description = "Someone saved the policy since you read it"),
    ),
    security(("bearer" = []))
)]
pub async fn put_policies(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<GovernancePolicyUpdate>,
) -> Result<Json<GovernancePolicy>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let current = governance::policy(&app.db, keys).await?;
    let next = body.value.apply(&current, &ctx.user_id, Utc::now()).map_err(ApiError::Validation)?;
    if current.version != body.value.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let before = serde_json::to_value(current.consent).unwrap_or_default();
    let after = serde_json::to_value(next.consent).unwrap_or_default();
    let changes: Vec<_> = AuditRecord::diff(Some(&before), &after, &["email", "whatsapp", "phone", "sms"])
        .into_iter()
        .map(|mut c| {
            c.field = format!("consent.{}", c.field);
            c
        })
        .collect();
    if changes.is_empty() {
        return Ok(Json(current));
    }
    let mut unit = UnitOfWork::new(&app.db);
    let item = policy_item(keys, &next)?;
    if current.version == 0 {
        unit.create(item);
    } else {
        unit.replace(item, current.version);
    }
    unit.audit(keys, &meta.audit(&ctx, "policy.governance.update", "policy", "governance", changes))?;
    match unit.commit().await {
        Ok(()) => Ok(Json(next)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: Some(governance::policy(&app.db, keys).await?.version) })
        }
        Err(e) => Err(e.into()),
    }
}

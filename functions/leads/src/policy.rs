//! `GET/PUT /api/companies/{company_id}/leads/qualification-policy`: the company's qualification
//! thresholds, disqualification reasons and conversion trigger (admins edit; versioned).

use axum::extract::State;
use axum::Json;
use keel_core::qualification::{PolicyUpdate, QualificationPolicy};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::db::{from_item, s, to_item};
use keel_store::{Db, Refusal, StoreError, TenantKeys, UnitOfWork, WriteError};

const POLICY_SK: &str = "POLICY";

fn policy_pk(keys: &TenantKeys) -> String {
    keys.key("POLICY#QUALIFICATION")
}

/// The company's policy, or the defaults (version 0) until an admin saves one. 1 GetItem.
pub async fn read(db: &Db, keys: &TenantKeys) -> Result<QualificationPolicy, StoreError> {
    match db.get(&policy_pk(keys), POLICY_SK).await? {
        Some(item) => from_item(item),
        None => Ok(QualificationPolicy::default()),
    }
}

/// The company's qualification policy (defaults until an administrator saves one).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/qualification-policy",
    tag = "qualification",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The policy", body = QualificationPolicy)),
    security(("bearer" = []))
)]
pub async fn get_policy(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<QualificationPolicy>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    Ok(Json(read(&app.db, keys).await?))
}

/// Replace the policy. Send the `version` you read; a stale one is a 409.
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/leads/qualification-policy",
    tag = "qualification",
    params(("company_id" = Id, Path)),
    request_body = PolicyUpdate,
    responses(
        (status = 200, description = "The saved policy", body = QualificationPolicy),
        (status = 403, description = "Only administrators set policies"),
        (status = 409, description = "Someone saved the policy since you read it"),
    ),
    security(("bearer" = []))
)]
pub async fn put_policy(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<PolicyUpdate>,
) -> Result<Json<QualificationPolicy>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let next = body.value.validate().map_err(ApiError::Validation)?;
    let current = read(&app.db, keys).await?;
    if current.version != body.value.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let before = serde_json::to_value(&current).unwrap_or_default();
    let after = serde_json::to_value(&next).unwrap_or_default();
    let fields =
        ["bant_min_total", "bant_no_zero_item", "meddicc_required", "disqualify_reasons", "conversion_trigger"];
    let changes = AuditRecord::diff(Some(&before), &after, &fields);
    if changes.is_empty() {
        return Ok(Json(current));
    }
    let mut item = to_item(&next)?;
    item.insert("pk".into(), s(policy_pk(keys)));
    item.insert("sk".into(), s(POLICY_SK));
    item.insert("entity".into(), s("qualification_policy"));
    let mut unit = UnitOfWork::new(&app.db);
    if current.version == 0 {
        unit.create(item);
    } else {
        unit.replace(item, current.version);
    }
    let audit = meta.audit(&ctx, "policy.qualification.update", "policy", "qualification", changes);
    unit.audit(keys, &audit)?;
    match unit.commit().await {
        Ok(()) => Ok(Json(next)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: Some(read(&app.db, keys).await?.version) })
        }
        Err(e) => Err(e.into()),
    }
}

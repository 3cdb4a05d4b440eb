//! `/deals/quotas`: what each owner is expected to close in a quarter. Managers set them (with
//! versions); the forecast reads them beside its rollups.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::forecast::parse_quarter;
use keel_core::{FieldErrors, Money};
use keel_http::version::etag;
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::db::{from_item, put_new, s, to_item};
use keel_store::revenue::{quota_pk, quota_sk};
use keel_store::{Db, Refusal, StoreError, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::repo;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quota {
    #[schema(example = "2026-Q4")]
    pub period: String,
    pub owner_id: String,
    pub amount: Money,
    pub version: u64,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// `PUT …/deals/quotas`: set one owner's quota for a quarter.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaInput {
    #[schema(example = "2026-Q4")]
    pub period: String,
    pub owner_id: String,
    pub amount: Money,
    /// The version you read; 0 (or absent) for a quota not set yet.
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaList {
    pub items: Vec<Quota>,
}

pub(crate) async fn of_period(db: &Db, keys: &TenantKeys, period: &str) -> Result<Vec<Quota>, StoreError> {
    repo::collection(db, quota_pk(keys, period), "OWNER#", None).await?.into_iter().map(from_item).collect()
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuotaParams {
    /// A quarter: `2026-Q4`
    period: Option<String>,
}

/// The quotas set for a quarter.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/quotas",
    tag = "deals",
    params(("company_id" = Id, Path), QuotaParams),
    responses((status = 200, description = "The quarter's quotas", body = QuotaList)),
    security(("bearer" = []))
)]
pub async fn list_quotas(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<QuotaList>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: QuotaParams = keel_http::parse_query(raw.as_deref())?;
    let period = query::text(&params.period).unwrap_or_default();
    if parse_quarter(&period).is_none() {
        return Err(ApiError::field("period", "must be a quarter like 2026-Q4"));
    }
    Ok(Json(QuotaList { items: of_period(&app.db, keys, &period).await? }))
}

/// Set an owner's quota for a quarter (managers and administrators), with the version you read.
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/deals/quotas",
    tag = "deals",
    params(("company_id" = Id, Path)),
    request_body = QuotaInput,
    responses(
        (status = 200, description = "The quota as set", body = Quota, headers(("ETag" = String))),
        (status = 403, description = "Only managers and administrators set quotas"),
        (status = 409, description = "Stale version: the problem carries the current one"),
        (status = 422, description = "The owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn set_quota(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<QuotaInput>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let input = body.value;
    let mut e = FieldErrors::default();
    let period = input.period.trim().to_string();
    if parse_quarter(&period).is_none() {
        e.add("period", "must be a quarter like 2026-Q4");
    }
    let owner = input.owner_id.trim().to_string();
    if !keel_http::path::is_id(&owner) {
        e.add("owner_id", "must be a user's id");
    }
    input.amount.validate(&mut e, "amount");
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    let (current, _) = tokio::try_join!(
        async { Ok::<_, ApiError>(app.db.get_as::<Quota>(&quota_pk(keys, &period), &quota_sk(&owner)).await?) },
        keel_http::owners::require_active(&app.db, keys, &owner, "owner_id"),
    )?;
    let read = current.as_ref().map_or(0, |q| q.version);
    if input.version.unwrap_or(0) != read {
        return Err(ApiError::Stale { current_version: Some(read) });
    }
    if current.as_ref().is_some_and(|q| q.amount == input.amount) {
        let q = current.expect("checked");
        return Ok((StatusCode::OK, [etag(q.version)], Json(q)).into_response());
    }
    let now = Utc::now();
    let next = Quota {
        period: period.clone(),
        owner_id: owner.clone(),
        amount: input.amount,
        version: read + 1,
        updated_by: ctx.user_id.clone(),
        updated_at: now,
    };
    let mut item = to_item(&next)?;
    item.insert("pk".into(), s(quota_pk(keys, &period)));
    item.insert("sk".into(), s(quota_sk(&owner)));
    item.insert("entity".into(), s("quota"));
    let mut unit = UnitOfWork::new(&app.db);
    match &current {
        None => unit.include_entity(put_new(&app.db.table, item)),
        Some(q) => unit.replace(item, q.version),
    };
    let json = |q: Option<&Quota>| q.map(|q| serde_json::json!({"amount": q.amount}));
    let changes =
        AuditRecord::diff(json(current.as_ref()).as_ref(), &json(Some(&next)).unwrap_or_default(), &["amount"]);
    unit.audit(keys, &meta.audit(&ctx, "quota.set", "quota", &format!("{period}/{owner}"), changes))?;
    match unit.commit().await {
        Ok(()) => Ok((StatusCode::OK, [etag(next.version)], Json(next)).into_response()),
        Err(WriteError::Refused(Refusal::Stale)) => Err(ApiError::Stale {
            current_version: app
                .db
                .get_as::<Quota>(&quota_pk(keys, &period), &quota_sk(&owner))
                .await?
                .map(|q| q.version),
        }),
        Err(e) => Err(e.into()),
    }
}

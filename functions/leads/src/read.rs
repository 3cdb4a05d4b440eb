//! `GET /api/companies/{company_id}/leads/{lead_id}`.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use keel_core::Lead;
use keel_http::path::record_id;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};

use crate::repo;
use keel_http::version::etag;

/// One lead, with its version in `ETag`.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}",
    tag = "leads",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses((status = 200, description = "The lead", body = Lead, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_lead(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, lead_id_raw)): ApiPath<(Id, Id)>,
) -> Result<impl IntoResponse, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let lead = repo::get(&app.db, keys, record_id(&lead_id_raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(([etag(lead.version)], Json(lead)))
}

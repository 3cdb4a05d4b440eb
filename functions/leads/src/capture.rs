//! `POST /api/companies/{company_id}/leads`: capture a lead.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use keel_core::{Lead, NewLead};
use keel_events::{Actor, Envelope, LeadCreated};
use keel_http::{
    ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Permission, RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::{Refusal, UnitOfWork, WriteError};
use ulid::Ulid;

use crate::repo;
use keel_http::version::etag;

const IDEMPOTENCY_SCOPE: &str = "leads.create";

pub(crate) fn actor(ctx: &TenantContext) -> Actor {
    Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() }
}

fn created(company_id: &str, lead_id: &str, version: u64, body: Vec<u8>) -> Response {
    let location = format!("/api/companies/{company_id}/leads/{lead_id}");
    let mut response = (StatusCode::CREATED, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    let (name, value) = etag(version);
    headers.insert(name, value);
    response
}

/// Capture a lead. Attribution (`source`, `campaign`, `medium`) is mandatory; an email or phone
/// already used by another lead of the company is refused with that lead's id. Send an
/// `Idempotency-Key` to make retries safe: a replay answers the first response.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads",
    tag = "leads",
    params(
        ("company_id" = Id, Path, description = "The company (tenant) id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    request_body = NewLead,
    responses(
        (status = 201, description = "Lead captured", body = Lead,
            headers(("Location" = String, description = "The new lead"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Role may not capture leads, or not for another owner"),
        (status = 409, description = "Email or phone already used by another lead (`existing_id` names it)"),
    ),
    security(("bearer" = []))
)]
pub async fn create_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewLead>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idempotent = IdempotentCreate::from_headers(&headers, IDEMPOTENCY_SCOPE, &ctx.user_id, &body.raw)?;
    let draft = body.value.validate().map_err(ApiError::Validation)?;
    // Capturing a lead for someone else is assigning it: managers and admins only.
    ctx.require_edit(&ctx.user_id, draft.owner_id.as_deref().unwrap_or(&ctx.user_id))?;
    if let Some(owner) = draft.owner_id.as_deref().filter(|o| *o != ctx.user_id) {
        keel_http::owners::require_active(&app.db, keys, owner, "owner_id").await?;
    }
    let now = Utc::now();
    let lead = Lead::capture(draft, Ulid::new(), &ctx.user_id, now);
    let event = Envelope::new(&ctx.tenant_id, actor(&ctx), now, &LeadCreated::from(&lead));
    let changes = AuditRecord::diff(None, &lead.as_json(), &Lead::RECORDED_FIELDS);
    let audit = meta.audit(&ctx, "lead.create", "lead", &lead.id.to_string(), changes);
    let response_body = serde_json::to_vec(&lead).map_err(|e| ApiError::Internal(e.to_string()))?;

    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 201, &response_body, now);
    match repo::capture(unit, keys, &lead, &event, &audit).await {
        Ok(()) => Ok(created(&company_id, &lead.id.to_string(), lead.version, response_body)),
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let first = idempotent.replay(&app.db, keys, now).await?;
            let lead: Lead = serde_json::from_str(&first.body).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(created(&company_id, &lead.id.to_string(), lead.version, first.body.into_bytes()))
        }
        Err(e) => Err(e.into()),
    }
}

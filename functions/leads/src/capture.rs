//! `POST /api/companies/{company_id}/leads`: capture a lead.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use keel_core::{Lead, NewLead};
use keel_events::{Actor, Envelope, LeadCreated};
use keel_http::{ApiError, ApiJson, AppState, CompanyScope, Permission, Problem, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::idempotency::{self, IdempotencyRecord};
use ulid::Ulid;

use crate::repo::{self, WriteRefused};
use crate::version::etag;

const IDEMPOTENCY_SCOPE: &str = "leads.create";

pub(crate) fn actor(ctx: &TenantContext) -> Actor {
    Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() }
}

pub(crate) fn refused(e: WriteRefused) -> ApiError {
    match e {
        WriteRefused::Duplicate { field, existing_id } => {
            ApiError::Duplicate { detail: format!("A lead with this {field} already exists."), field, existing_id }
        }
        // Only updates can be stale (they handle it themselves); a new lead's id is fresh.
        WriteRefused::Stale => ApiError::Internal("a new lead collided with an existing id".into()),
        WriteRefused::ExtraExists => ApiError::IdempotencyMismatch,
        WriteRefused::Store(e) => e.into(),
    }
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

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::field("Idempotency-Key", "must be 1-255 visible ASCII characters"));
    }
    Ok(Some(key.to_string()))
}

/// Capture a lead. Attribution (`source`, `campaign`, `medium`) is mandatory; an email or phone
/// already used by another lead of the company is refused with that lead's id. Send an
/// `Idempotency-Key` to make retries safe: a replay answers the first response.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads",
    tag = "leads",
    params(
        ("company_id" = String, Path, description = "The company (tenant) id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    request_body = NewLead,
    responses(
        (status = 201, description = "Lead captured", body = Lead,
            headers(("Location" = String, description = "The new lead"), ("ETag" = String, description = "Its version"))),
        (status = 400, description = "Invalid input, with the fields at fault", body = Problem),
        (status = 401, description = "Missing or invalid token", body = Problem),
        (status = 403, description = "Role may not capture leads", body = Problem),
        (status = 404, description = "Not your company", body = Problem),
        (status = 409, description = "Email or phone already used by another lead", body = Problem),
        (status = 413, description = "Body larger than 256 KB", body = Problem),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    Path(company_id): Path<String>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewLead>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idem_key = idempotency_key(&headers)?;
    let draft = body.value.validate().map_err(ApiError::Validation)?;
    // Capturing a lead for someone else is assigning it: managers and admins only.
    ctx.require_edit(&ctx.user_id, draft.owner_id.as_deref().unwrap_or(&ctx.user_id))?;
    let now = Utc::now();
    let lead = Lead::capture(draft, Ulid::new(), &ctx.user_id, now);
    let event = Envelope::new(&ctx.tenant_id, actor(&ctx), now, &LeadCreated::from(&lead));
    let changes = AuditRecord::diff(None, &lead.as_json(), &Lead::RECORDED_FIELDS);
    let audit = meta.audit(&ctx, "lead.create", "lead", &lead.id.to_string(), changes);
    let response_body = serde_json::to_vec(&lead).map_err(|e| ApiError::Internal(e.to_string()))?;

    let request_hash = idempotency::fingerprint(&body.raw);
    let record = match &idem_key {
        Some(key) => {
            let first = IdempotencyRecord::new(
                request_hash.clone(),
                201,
                String::from_utf8_lossy(&response_body).into_owned(),
                now,
            );
            Some(idempotency::put(&app.db, keys, IDEMPOTENCY_SCOPE, key, &first)?)
        }
        None => None,
    };
    match repo::capture(&app.db, keys, &lead, &event, &audit, record).await {
        Ok(()) => Ok(created(&company_id, &lead.id.to_string(), lead.version, response_body)),
        Err(WriteRefused::ExtraExists) => {
            let key = idem_key.unwrap_or_default();
            let stored = idempotency::get(&app.db, keys, IDEMPOTENCY_SCOPE, &key, now)
                .await?
                .ok_or_else(|| ApiError::Unavailable("idempotency record vanished".into()))?;
            if stored.request_hash != request_hash {
                return Err(ApiError::IdempotencyMismatch);
            }
            let first: Lead = serde_json::from_str(&stored.body).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(created(&company_id, &first.id.to_string(), first.version, stored.body.into_bytes()))
        }
        Err(e) => Err(refused(e)),
    }
}

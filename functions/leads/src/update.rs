//! `PATCH /api/companies/{company_id}/leads/{lead_id}`: edit a lead, optimistically.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use keel_core::{Lead, LeadPatch};
use keel_events::{Envelope, LeadCreated, LeadUpdated};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta};
use keel_store::audit::AuditRecord;
use keel_store::TenantKeys;

use crate::capture::actor;
use crate::repo;
use keel_http::path::record_id;
use keel_http::version::{etag, expected};
use keel_store::{Refusal, WriteError};

/// Edit a lead. Send the version you read (`If-Match: "3"` or `"version": 3`); if someone changed
/// the lead since, the answer is 409 with the current version and nothing is written. Email and
/// phone stay unique; the score is recomputed.
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/leads/{lead_id}",
    tag = "leads",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = LeadPatch,
    responses(
        (status = 200, description = "The updated lead", body = Lead, headers(("ETag" = String))),
        (status = 403, description = "Role may not edit this lead, or not give it to another owner"),
        (status = 409, description = "Email or phone used by another lead (`existing_id` names it)"),
        (status = 422, description = "Status change not allowed"),
    ),
    security(("bearer" = []))
)]
pub async fn update_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, lead_id_raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<LeadPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let keys = ctx.company(&company_id)?;
    let id = record_id(&lead_id_raw)?;
    ctx.require(Permission::EditOwnRecords)?;
    let patch = body.value;
    let expected_version = expected(&headers, patch.version)?;
    let current = repo::get(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    keel_http::owners::refuse_blank(patch.owner_id.as_deref())?;
    let new_owner = patch.owner_id.as_deref().map(str::trim).unwrap_or(&current.owner_id);
    ctx.require_edit(&current.owner_id, new_owner)?;
    if new_owner != current.owner_id && new_owner != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, new_owner, "owner_id").await?;
    }
    let now = Utc::now();
    let next = current.patched(&patch, now).map_err(|errors| {
        if errors.0.iter().any(|e| e.field == "status") {
            ApiError::Rule(errors)
        } else {
            ApiError::Validation(errors)
        }
    })?;
    // One comparison serves both the event's `changed` list and the audit record's before → after.
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Lead::RECORDED_FIELDS);
    let changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
    if changed.is_empty() {
        // Nothing to change: the state asked for holds already (a retried PATCH lands here).
        return Ok(([etag(current.version)], Json(current)));
    }
    if expected_version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let event = Envelope::new(
        &ctx.tenant_id,
        actor(&ctx),
        now,
        &LeadUpdated {
            lead_id: id.to_string(),
            version: next.version,
            changed,
            before: LeadCreated::from(&current),
            after: LeadCreated::from(&next),
        },
    );
    let audit = meta.audit(&ctx, "lead.update", "lead", id, changes);
    match repo::replace(&app.db, keys, &current, &next, &event, &audit).await {
        Ok(()) => Ok(([etag(next.version)], Json(next))),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

/// Someone wrote between our read and our write: report the version they left.
pub(crate) async fn stale(app: &AppState, keys: &TenantKeys, id: &str) -> ApiError {
    match repo::get(&app.db, keys, id).await {
        Ok(Some(lead)) => ApiError::Stale { current_version: Some(lead.version) },
        Ok(None) => ApiError::NotFound,
        Err(e) => e.into(),
    }
}

//! `DELETE /api/companies/{company_id}/leads/{lead_id}`: archive. Leads are never hard-deleted.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use keel_core::{FieldErrors, Lead};
use keel_events::{Envelope, LeadArchived, LeadCreated};
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;

use crate::capture::actor;
use crate::repo;
use crate::update::stale;
use keel_http::path::record_id;
use keel_http::version::etag;
use keel_store::{Refusal, WriteError};

/// Archive a lead: it leaves the working lists but stays readable and can be restored by
/// setting its status back to `new`. Archiving an archived lead answers the same lead again.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/leads/{lead_id}",
    tag = "leads",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses(
        (status = 200, description = "The archived lead", body = Lead, headers(("ETag" = String))),
        (status = 403, description = "Role may not archive this lead"),
        (status = 409, description = "Changed concurrently: read it again and retry"),
        (status = 422, description = "A converted lead cannot be archived"),
    ),
    security(("bearer" = []))
)]
pub async fn archive_lead(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, lead_id_raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
) -> Result<impl IntoResponse, ApiError> {
    let keys = ctx.company(&company_id)?;
    let id = record_id(&lead_id_raw)?;
    ctx.require(Permission::EditOwnRecords)?;
    let current = repo::get(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    ctx.require_edit(&current.owner_id, &current.owner_id)?;
    let now = Utc::now();
    let next = match current.archived(now) {
        Ok(Some(next)) => next,
        Ok(None) => return Ok(([etag(current.version)], Json(current))),
        Err(rule) => {
            let mut errors = FieldErrors::default();
            errors.add("status", rule);
            return Err(ApiError::Rule(errors));
        }
    };
    let event = Envelope::new(
        &ctx.tenant_id,
        actor(&ctx),
        now,
        &LeadArchived {
            lead_id: id.to_string(),
            version: next.version,
            previous_status: current.status,
            before: LeadCreated::from(&current),
        },
    );
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Lead::RECORDED_FIELDS);
    let audit = meta.audit(&ctx, "lead.archive", "lead", id, changes);
    match repo::replace(&app.db, keys, &current, &next, &event, &audit).await {
        Ok(()) => Ok(([etag(next.version)], Json::<Lead>(next))),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

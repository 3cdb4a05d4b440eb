//! `/api/companies/{company_id}/activities`: log a call, email, meeting, note, task or WhatsApp
//! message on up to five records, read, list (type, owner, time range, related record), edit with
//! versions (a note by its author, another activity by its owner, or a manager), delete. System
//! activities are the product's record of what happened and never change.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use keel_core::activity::{Activity, ActivityPatch, ActivityType, NewActivity, RecordKind};
use keel_core::FieldErrors;
use keel_http::path::record_id;
use keel_http::version::{expected, versioned};
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Page, Pager, Permission,
    RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::db;
use keel_store::index_page::{page, IndexPage};
use keel_store::{crm, Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::IntoParams;

use crate::repo;

fn answer(status: StatusCode, activity: Activity, location: Option<String>) -> Response {
    versioned(status, activity.version, activity, location)
}

/// Writes `next` (at `next.version`) over `current`, moving its timeline entries when it moved in time.
fn rewrite(unit: &mut UnitOfWork<'_>, keys: &TenantKeys, current: &Activity, next: &Activity) -> Result<(), ApiError> {
    let table = unit.table().to_string();
    unit.replace(crm::activity_item(keys, next)?, current.version);
    if crm::timeline_sk(current) != crm::timeline_sk(next) {
        for (pk, sk) in crm::timeline_keys(keys, current) {
            unit.include(db::delete(&table, pk, sk));
        }
    }
    for entry in crm::timeline_items(keys, next)? {
        unit.include(db::put(&table, entry));
    }
    Ok(())
}

/// A write that lost a race: 409 with the version now, or 404 when it was deleted meanwhile.
async fn stale(app: &AppState, keys: &TenantKeys, id: &str) -> ApiError {
    match repo::activity(&app.db, keys, id).await {
        Ok(Some(a)) => ApiError::Stale { current_version: Some(a.version) },
        Ok(None) => ApiError::NotFound,
        Err(e) => e.into(),
    }
}

/// Log an activity on 1-5 records (lead, account, contact, deal); it shows on each one's
/// timeline. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/activities",
    tag = "activities",
    params(("company_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewActivity,
    responses(
        (status = 201, description = "Activity logged", body = Activity,
            headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Role may not log activities, or not for another owner"),
        (status = 422, description = "A related record does not exist, or the owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn create_activity(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewActivity>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "activities.create", &ctx.user_id, &body.raw)?;
    keel_http::owners::refuse_blank(body.value.owner_id.as_deref())?;
    let now = Utc::now();
    let mut activity = body.value.validate(Ulid::new(), &ctx.user_id, now).map_err(ApiError::Validation)?;
    ctx.require_edit(&ctx.user_id, &activity.owner_id)?;
    if activity.owner_id != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &activity.owner_id, "owner_id").await?;
    }
    // What happens with a converted lead shows on the account and contact it became, like its
    // history (1 GetItem per related lead, at most five).
    let leads = activity.related.iter().filter(|r| r.kind == RecordKind::Lead).map(|r| r.id.clone());
    let db = &app.db;
    let lookups = leads.map(|id| async move { crate::timeline::converted_into(db, keys, &id).await });
    for r in futures::future::try_join_all(lookups).await?.into_iter().flatten() {
        if !activity.related.contains(&r) && !activity.shown_on.contains(&r) {
            activity.shown_on.push(r);
        }
    }
    let id = activity.id.to_string();
    let location = format!("/api/companies/{company_id}/activities/{id}");
    let bytes = serde_json::to_vec(&activity).map_err(|e| ApiError::Internal(e.to_string()))?;
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 201, &bytes, now);
    unit.create(crm::activity_item(keys, &activity)?);
    for entry in crm::timeline_items(keys, &activity)? {
        unit.include(db::put(&table, entry));
    }
    for r in &activity.related {
        unit.include_guarded(
            crm::record_exists(&table, keys, r.kind, &r.id),
            "related",
            "a record the activity relates to does not exist in your company",
        );
    }
    let changes = AuditRecord::diff(None, &activity.as_json(), &Activity::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "activity.create", "activity", &id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::CREATED, activity, Some(location))),
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let a: Activity = idempotent.replayed(&app.db, keys, now).await?;
            let location = format!("/api/companies/{company_id}/activities/{}", a.id);
            Ok(answer(StatusCode::CREATED, a, Some(location)))
        }
        Err(e) => Err(e.into()),
    }
}

/// One activity.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/activities/{activity_id}",
    tag = "activities",
    params(("company_id" = Id, Path), ("activity_id" = Id, Path)),
    responses((status = 200, description = "The activity", body = Activity, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_activity(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let a = repo::activity(&app.db, keys, record_id(&raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(answer(StatusCode::OK, a, None))
}

/// Edit an activity: a note by its author, another activity by its owner, or a manager. Send the
/// version you read (`If-Match` or `version`); a stale one is a 409 with the current version.
/// Stage changes and system activities never change (422).
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/activities/{activity_id}",
    tag = "activities",
    params(("company_id" = Id, Path), ("activity_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = ActivityPatch,
    responses(
        (status = 200, description = "The updated activity", body = Activity, headers(("ETag" = String))),
        (status = 403, description = "Neither its author or owner nor a manager"),
        (status = 422, description = "A system activity, which never changes"),
    ),
    security(("bearer" = []))
)]
pub async fn update_activity(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<ActivityPatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let patch = body.value;
    let version = expected(&headers, patch.version)?;
    let current = repo::activity(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    ctx.require_edit(current.editor(), current.editor())?;
    let next =
        patch
            .apply(&current, Utc::now())
            .map_err(|(e, rule)| if rule { ApiError::Rule(e) } else { ApiError::Validation(e) })?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Activity::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(answer(StatusCode::OK, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let mut next = next;
    next.version = current.version + 1;
    let mut unit = UnitOfWork::new(&app.db);
    rewrite(&mut unit, keys, &current, &next)?;
    unit.audit(keys, &meta.audit(&ctx, "activity.update", "activity", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

/// Delete an activity and its timeline entries (its author or owner, or a manager; send the
/// version you read). System activities stay (422).
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/activities/{activity_id}",
    tag = "activities",
    params(("company_id" = Id, Path), ("activity_id" = Id, Path),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither its author or owner nor a manager"),
        (status = 422, description = "A system activity, which stays"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_activity(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let Some(current) = repo::activity(&app.db, keys, id).await? else {
        // Deleting what is gone answers as the first delete did.
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    ctx.require_edit(current.editor(), current.editor())?;
    let version = expected(&headers, None)?;
    if current.activity_type.is_system() {
        return Err(ApiError::rule("type", "stage changes and system activities are a record of what happened"));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    unit.delete(crm::activity_pk(keys, id), crm::ACTIVITY_SK, current.version);
    for (pk, sk) in crm::timeline_keys(keys, &current) {
        unit.include(db::delete(&table, pk, sk));
    }
    let changes = AuditRecord::diff(Some(&current.as_json()), &serde_json::json!({}), &Activity::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "activity.delete", "activity", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        // Two deletes at once: the one that lost finds it gone, as the first one left it.
        Err(WriteError::Refused(Refusal::Stale)) => match stale(&app, keys, id).await {
            ApiError::NotFound => Ok(StatusCode::NO_CONTENT.into_response()),
            other => Err(other),
        },
        Err(e) => Err(e.into()),
    }
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityListParams {
    /// call, email, meeting, note, task, whatsapp, stage_change, system
    #[serde(rename = "type")]
    #[param(rename = "type")]
    activity_type: Option<String>,
    #[param(max_length = 64)]
    owner_id: Option<String>,
    /// lead, account, contact or deal (with `related_id`)
    related_kind: Option<String>,
    #[param(max_length = 64)]
    related_id: Option<String>,
    /// Happened at or after (RFC 3339)
    from: Option<String>,
    /// Happened at or before (RFC 3339)
    to: Option<String>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

#[derive(Serialize)]
struct ActivityFilter<'a> {
    activity_type: Option<&'a str>,
    owner: Option<&'a str>,
    related: Option<&'a str>,
    from: &'a str,
    to: &'a str,
}

/// Parses a `type` filter.
pub(crate) fn activity_type(errors: &mut FieldErrors, raw: &Option<String>) -> Option<ActivityType> {
    let v = query::text(raw)?;
    let t = ActivityType::parse(&v);
    if t.is_none() {
        errors.add("type", "must be one of call, email, meeting, note, task, whatsapp, stage_change, system");
    }
    t
}

/// The company's activities by when they happened, newest first; filtered by type, owner, a
/// related record and a time range.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/activities",
    tag = "activities",
    params(("company_id" = Id, Path), ActivityListParams),
    responses((status = 200, description = "A page of activities", body = Page<Activity>)),
    security(("bearer" = []))
)]
pub async fn list_activities(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Activity>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: ActivityListParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let kind = activity_type(&mut errors, &params.activity_type);
    let owner = query::id(&mut errors, "owner_id", &params.owner_id);
    let related_kind = query::text(&params.related_kind);
    let related_id = query::id(&mut errors, "related_id", &params.related_id);
    let related = match (related_kind.as_deref(), related_id) {
        (None, None) => None,
        (Some(k @ ("lead" | "account" | "contact" | "deal")), Some(id)) => Some(format!("{k}#{id}")),
        (Some("lead" | "account" | "contact" | "deal"), None) => {
            errors.add("related_id", "is required with related_kind");
            None
        }
        (Some(_), _) => {
            errors.add("related_kind", "must be one of lead, account, contact, deal");
            None
        }
        (None, Some(_)) => {
            errors.add("related_kind", "is required with related_id");
            None
        }
    };
    let (from, to) = query::time_range(&mut errors, ("from", &params.from), ("to", &params.to));
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // Sort keys start with the fixed-width time, so a time range is a range of sort keys.
    let low = from.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_else(|| "0".into());
    let high = to.map(|t| format!("{}#~", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))).unwrap_or_else(|| "~".into());
    let type_filter = kind.map(|k| k.as_str());
    let filter = ActivityFilter {
        activity_type: type_filter,
        owner: owner.as_deref(),
        related: related.as_deref(),
        from: &low,
        to: &high,
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "activities", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let (index, partition) = match &owner {
        Some(o) => ("gsi2", crm::activities_of_owner_index(keys, o)),
        None => ("gsi1", crm::activities_index(keys)),
    };
    let q = IndexPage {
        index,
        partition,
        prefix: None,
        equals: type_filter.map(|t| vec![("type", t)]).unwrap_or_default(),
        not_equals: vec![],
        contains: related.as_deref().map(|r| vec![("related_keys", r)]).unwrap_or_default(),
        between: vec![],
        range: Some((&low, &high)),
        limit: limit as i32,
        start,
        descending: true,
    };
    let (items, last) = page(&app.db, q).await?;
    let activities = items.into_iter().map(db::from_item::<Activity>).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(pager.page(activities, last)))
}

//! `/api/companies/{company_id}/tasks`: follow-ups with an assignee, a due time, a priority and a
//! status, about a lead, account, contact or deal. Creating one schedules its first escalation
//! in the due-time index; completing one logs a task activity on what it is about.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use keel_core::activity::{Activity, ActivityType};
use keel_core::task::{NewTask, Task, TaskPatch, TaskPriority};
use keel_core::FieldErrors;
use keel_http::path::record_id;
use keel_http::version::{expected, versioned};
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Page, Pager, Permission,
    RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::db::{self, from_item};
use keel_store::index_page::{page, IndexPage};
use keel_store::{crm, Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::IntoParams;

use crate::automation;
use crate::escalation::escalation_entry;
use crate::repo::{self, StatsMove};

fn answer(status: StatusCode, task: Task, location: Option<String>) -> Response {
    versioned(status, task.version, task, location)
}

/// A write that lost a race: 409 with the version now, or 404 when it was deleted meanwhile.
async fn stale(app: &AppState, keys: &TenantKeys, id: &str) -> ApiError {
    match repo::task(&app.db, keys, id).await {
        Ok(Some(t)) => ApiError::Stale { current_version: Some(t.version) },
        Ok(None) => ApiError::NotFound,
        Err(e) => e.into(),
    }
}

/// The activity a completed task leaves on the timelines of what it was about.
fn completion(task: &Task, actor: &str, now: DateTime<Utc>) -> Activity {
    Activity {
        id: Ulid::new(),
        activity_type: ActivityType::Task,
        subject: format!("Task done: {}", task.title),
        body: task.description.clone(),
        related: task.related.iter().cloned().collect(),
        occurred_at: now,
        duration_minutes: None,
        outcome: Some("done".into()),
        owner_id: actor.into(),
        created_by: actor.into(),
        created_at: now,
        version: 1,
        shown_on: vec![],
    }
}

/// Create a task (for yourself; managers for anyone). It is escalated when still open past its
/// due time by the company's delay. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/tasks",
    tag = "tasks",
    params(("company_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewTask,
    responses(
        (status = 201, description = "Task created", body = Task, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Role may not create tasks, or not for someone else"),
        (status = 422, description = "The related record does not exist, or the assignee is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn create_task(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewTask>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "tasks.create", &ctx.user_id, &body.raw)?;
    let now = Utc::now();
    let task = body.value.validate(Ulid::new(), &ctx.user_id, now).map_err(ApiError::Validation)?;
    ctx.require_edit(&ctx.user_id, &task.assignee_id)?;
    if task.assignee_id != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &task.assignee_id, "assignee_id").await?;
    }
    let policy = repo::policy(&app.db, keys).await?;
    let id = task.id.to_string();
    let location = format!("/api/companies/{company_id}/tasks/{id}");
    let bytes = serde_json::to_vec(&task).map_err(|e| ApiError::Internal(e.to_string()))?;
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 201, &bytes, now);
    unit.create(repo::task_item(keys, &task)?);
    if let Some(entry) = escalation_entry(&ctx.tenant_id, &task, &policy) {
        unit.include(entry.put(&table));
    }
    for update in repo::stats_updates(&table, keys, &task, StatsMove::of(None, &task)) {
        unit.include(update);
    }
    if let Some(r) = &task.related {
        unit.include_guarded(
            crm::record_exists(&table, keys, r.kind, &r.id),
            "related",
            "the record the task is about does not exist in your company",
        );
    }
    let changes = AuditRecord::diff(None, &task.as_json(), &Task::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "task.create", "task", &id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::CREATED, task, Some(location))),
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let t: Task = idempotent.replayed(&app.db, keys, now).await?;
            let location = format!("/api/companies/{company_id}/tasks/{}", t.id);
            Ok(answer(StatusCode::CREATED, t, Some(location)))
        }
        Err(e) => Err(e.into()),
    }
}

/// One task.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/tasks/{task_id}",
    tag = "tasks",
    params(("company_id" = Id, Path), ("task_id" = Id, Path)),
    responses((status = 200, description = "The task", body = Task, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_task(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let t = repo::task(&app.db, keys, record_id(&raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(answer(StatusCode::OK, t, None))
}

/// Edit a task: its assignee, or a manager (who may also reassign it). `status: done` completes it
/// and logs a task activity on what it is about; a done or cancelled task only reopens. Send the
/// version you read (`If-Match` or `version`); a stale one is a 409 with the current version.
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/tasks/{task_id}",
    tag = "tasks",
    params(("company_id" = Id, Path), ("task_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = TaskPatch,
    responses(
        (status = 200, description = "The updated task", body = Task, headers(("ETag" = String))),
        (status = 403, description = "Neither its assignee nor a manager, or reassigning without being a manager"),
        (status = 422, description = "A status move that is not allowed, or an assignee who is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn update_task(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<TaskPatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let patch = body.value;
    let version = expected(&headers, patch.version)?;
    let current = repo::task(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    let now = Utc::now();
    let next = patch
        .apply(&current, now)
        .map_err(|(e, rule)| if rule { ApiError::Rule(e) } else { ApiError::Validation(e) })?;
    ctx.require_edit(&current.assignee_id, &next.assignee_id)?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Task::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(answer(StatusCode::OK, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    if next.assignee_id != current.assignee_id && next.assignee_id != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &next.assignee_id, "assignee_id").await?;
    }
    let mut next = next;
    next.version = current.version + 1;
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(repo::task_item(keys, &next)?, current.version);
    for update in repo::stats_updates(&table, keys, &next, StatsMove::of(Some(&current), &next)) {
        unit.include(update);
    }
    // A new due time or a reopened task escalates on its own schedule; the entry of the old one
    // finds nothing to do when it comes due.
    if next.due_at != current.due_at || (current.status.is_closed() && !next.status.is_closed()) {
        let policy = repo::policy(&app.db, keys).await?;
        let old = escalation_entry(&ctx.tenant_id, &current, &policy).map(|e| e.key());
        let new = escalation_entry(&ctx.tenant_id, &next, &policy);
        // The superseded entry goes (where the policy has not changed since it was put), so moving
        // a due time again and again leaves one entry, not one per move.
        if let Some((pk, sk)) = old.filter(|k| Some(k) != new.as_ref().map(|e| e.key()).as_ref()) {
            unit.include(db::delete(&table, pk, sk));
        }
        if let Some(entry) = new {
            unit.include(entry.put(&table));
        }
    }
    // A rule's task holds its rule's place on the record while open.
    match (current.status.is_closed(), next.status.is_closed()) {
        (false, true) => {
            if let Some(release) = automation::released_on_close(&app.db, keys, &next).await? {
                unit.include(release);
            }
        }
        (true, false) => {
            if let Some(claim) = automation::claim(&table, keys, &next) {
                unit.include_guarded(claim, "status", "another open task of its automation rule is on the record");
            }
        }
        _ => {}
    }
    if !current.status.is_closed() && next.status == keel_core::task::TaskStatus::Done {
        let done = completion(&next, &ctx.user_id, now);
        unit.include(db::put(&table, crm::activity_item(keys, &done)?));
        for entry in crm::timeline_items(keys, &done)? {
            unit.include(db::put(&table, entry));
        }
    }
    unit.audit(keys, &meta.audit(&ctx, "task.update", "task", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

/// Delete a task (its assignee or a manager; send the version you read). A completed task's
/// activity stays on the timeline.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/tasks/{task_id}",
    tag = "tasks",
    params(("company_id" = Id, Path), ("task_id" = Id, Path),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither its assignee nor a manager"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_task(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let Some(current) = repo::task(&app.db, keys, id).await? else {
        // Deleting what is gone answers as the first delete did.
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    ctx.require_edit(&current.assignee_id, &current.assignee_id)?;
    let version = expected(&headers, None)?;
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let mut unit = UnitOfWork::new(&app.db);
    unit.delete(repo::task_pk(keys, id), repo::TASK_SK, current.version);
    if !current.status.is_closed() {
        if let Some(release) = automation::released_on_close(&app.db, keys, &current).await? {
            unit.include(release);
        }
    }
    let changes = AuditRecord::diff(Some(&current.as_json()), &serde_json::json!({}), &Task::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "task.delete", "task", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
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
pub struct TaskListParams {
    /// `me`, or a user's id; left out: everyone's
    #[param(max_length = 64)]
    assignee: Option<String>,
    /// overdue (due before now), today (due from now to the end of the day), week (from now to
    /// the end of the seventh day after today); open tasks only
    due: Option<String>,
    /// open (open or in progress, soonest due first; the default) or closed (done or cancelled,
    /// latest first)
    status: Option<String>,
    /// low, normal, high or urgent
    priority: Option<String>,
    /// lead, account, contact or deal (with `related_id`)
    related_kind: Option<String>,
    #[param(max_length = 64)]
    related_id: Option<String>,
    /// The viewer's offset from UTC in minutes (-840 to 840), where their day starts; default 0
    #[param(minimum = -840, maximum = 840)]
    utc_offset: Option<i32>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

/// What a cursor is bound to: the bucket by name, not its times, which move with the clock
/// between one page and the next.
#[derive(Serialize)]
struct TaskFilter<'a> {
    assignee: Option<&'a str>,
    open: bool,
    due: Option<&'a str>,
    utc_offset: i32,
    priority: Option<&'a str>,
    related: Option<&'a str>,
}

/// The start of the viewer's day, as a UTC instant.
fn day_start(now: DateTime<Utc>, offset_minutes: i32) -> DateTime<Utc> {
    let offset = Duration::minutes(i64::from(offset_minutes));
    let local = now + offset;
    let midnight = local.date_naive().and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    midnight - offset
}

fn parse_priority(errors: &mut FieldErrors, raw: &Option<String>) -> Option<TaskPriority> {
    let v = query::text(raw)?;
    let p = serde_json::from_value(serde_json::Value::String(v)).ok();
    if p.is_none() {
        errors.add("priority", "must be one of low, normal, high, urgent");
    }
    p
}

/// Tasks, open ones soonest due first: yours (`assignee=me`), someone's, or everyone's; due
/// overdue, today or this week; by priority or related record.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/tasks",
    tag = "tasks",
    params(("company_id" = Id, Path), TaskListParams),
    responses((status = 200, description = "A page of tasks", body = Page<Task>)),
    security(("bearer" = []))
)]
pub async fn list_tasks(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Task>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: TaskListParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let assignee = match query::text(&params.assignee).as_deref() {
        Some("me") => Some(ctx.user_id.clone()),
        _ => query::id(&mut errors, "assignee", &params.assignee),
    };
    let open = match query::text(&params.status).as_deref() {
        None | Some("open") => true,
        Some("closed") => false,
        Some(_) => {
            errors.add("status", "must be open or closed");
            true
        }
    };
    let offset = params.utc_offset.unwrap_or(0);
    if !(-840..=840).contains(&offset) {
        errors.add("utc_offset", "must be -840 to 840 minutes");
    }
    let priority = parse_priority(&mut errors, &params.priority);
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
    let now = Utc::now();
    let start_of_day = day_start(now, offset.clamp(-840, 840));
    let due = query::text(&params.due);
    let (low, high) = match due.as_deref() {
        None => ("0".to_string(), "~".to_string()),
        Some(_) if !open => {
            errors.add("due", "applies to open tasks only");
            ("0".into(), "~".into())
        }
        Some("overdue") => ("0".into(), format!("{}#~", repo::time_key(now - Duration::milliseconds(1)))),
        Some("today") => (repo::time_key(now), format!("{}#~", repo::time_key(start_of_day + Duration::days(1)))),
        Some("week") => (repo::time_key(now), format!("{}#~", repo::time_key(start_of_day + Duration::days(8)))),
        Some(_) => {
            errors.add("due", "must be one of overdue, today, week");
            ("0".into(), "~".into())
        }
    };
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let priority = priority.map(repo::priority_name);
    let filter = TaskFilter {
        assignee: assignee.as_deref(),
        open,
        due: due.as_deref(),
        utc_offset: offset,
        priority,
        related: related.as_deref(),
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "tasks", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let (index, partition) = match &assignee {
        Some(a) => ("gsi1", repo::assignee_index(keys, open, a)),
        None => ("gsi2", repo::company_index(keys, open)),
    };
    let mut equals = Vec::new();
    if let Some(p) = priority {
        equals.push(("priority", p));
    }
    if let Some(r) = related.as_deref() {
        equals.push(("related_key", r));
    }
    let q = IndexPage {
        index,
        partition,
        prefix: None,
        equals,
        not_equals: vec![],
        contains: vec![],
        between: vec![],
        range: Some((&low, &high)),
        limit: limit as i32,
        start,
        // Open: what is due soonest first; closed: the latest closed first.
        descending: !open,
    };
    let (items, last) = page(&app.db, q).await?;
    let tasks = items.into_iter().map(from_item::<Task>).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(pager.page(tasks, last)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_viewer_s_day_starts_at_their_midnight() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap();
        assert_eq!(day_start(now, 0), Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap());
        // UTC-5 at 02:30 UTC is 21:30 on the 6th: their day began at 05:00 UTC on the 6th.
        assert_eq!(day_start(now, -300), Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap());
        assert_eq!(day_start(now, 540), Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).unwrap());
    }
}

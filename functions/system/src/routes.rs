//! `/api/system/*`, platform operators only (a company's administrators see their own background
//! work at `/api/companies/{company_id}/jobs`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use keel_events::{Actor, Envelope, RedriveRequested};
use keel_http::{ApiError, ApiPath, Id, Permission, RequestMeta, TenantContext};
use keel_store::jobs::{self, Job, JobState};
use keel_store::relay_status::{self, RelayHeartbeat};
use keel_store::{TenantKeys, UnitOfWork};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queues::{depths, BackgroundQueue};
use crate::SystemState;

fn require_operator(ctx: &TenantContext) -> Result<(), ApiError> {
    ctx.require(Permission::OperateSystem)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SystemInfo {
    pub version: String,
    pub commit: String,
    pub stage: String,
    pub region: String,
    pub table: String,
    pub event_bus: String,
}

/// What is deployed where.
#[utoipa::path(get, path = "/api/system/info", tag = "system",
    responses((status = 200, description = "What is deployed", body = SystemInfo),
        (status = 403, description = "Not a platform operator")),
    security(("bearer" = [])))]
pub async fn system_info(State(state): State<SystemState>, ctx: TenantContext) -> Result<Json<SystemInfo>, ApiError> {
    require_operator(&ctx)?;
    let settings = &state.app.settings;
    Ok(Json(SystemInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: settings.commit.clone(),
        stage: settings.stage.clone(),
        region: settings.region.clone(),
        table: state.app.db.table.clone(),
        event_bus: settings.event_bus.clone(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelayStatus {
    /// When the relay last published events (null: never since the stack started).
    pub last_published_at: Option<String>,
    /// Commit → publish delay of the oldest event in the relay's last batch, in milliseconds.
    pub lag_ms: Option<i64>,
    pub last_batch_size: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackgroundTasks {
    pub queues: Vec<BackgroundQueue>,
    pub relay: RelayStatus,
}

/// Queue depths, dead letters and the relay's lag.
#[utoipa::path(get, path = "/api/system/background-tasks", tag = "system",
    responses((status = 200, description = "Queues and relay", body = BackgroundTasks),
        (status = 403, description = "Not a platform operator")),
    security(("bearer" = [])))]
pub async fn background_tasks(
    State(state): State<SystemState>,
    ctx: TenantContext,
) -> Result<Json<BackgroundTasks>, ApiError> {
    require_operator(&ctx)?;
    let mut queues = Vec::new();
    for (name, (url, dlq)) in &state.queues.by_name {
        let (visible, in_flight) = depths(&state.sqs, url).await.map_err(ApiError::Unavailable)?;
        let (dead, dead_in_flight) = depths(&state.sqs, dlq).await.map_err(ApiError::Unavailable)?;
        queues.push(BackgroundQueue { name: name.clone(), visible, in_flight, dead_letters: dead + dead_in_flight });
    }
    let beat: Option<RelayHeartbeat> = relay_status::read(&state.app.db).await?;
    let relay = RelayStatus {
        last_published_at: beat.as_ref().map(|b| b.last_published_at.clone()),
        lag_ms: beat.as_ref().map(|b| b.lag_ms),
        last_batch_size: beat.as_ref().map(|b| b.last_batch_size),
    };
    Ok(Json(BackgroundTasks { queues, relay }))
}

/// Starts moving a queue's dead letters back to it, once the cause is fixed. The move runs as a
/// background job (the system jobs consumer, a chunk at a time); follow it at the `Location`.
#[utoipa::path(post, path = "/api/system/background-tasks/{queue}/redrive", tag = "system",
    params(("queue" = String, Path, description = "Queue name, e.g. dashboard-counters")),
    responses((status = 202, description = "Redrive job started", body = Job,
            headers(("Location" = String, description = "The job"))),
        (status = 403, description = "Not a platform operator")),
    security(("bearer" = [])))]
pub async fn redrive(
    State(state): State<SystemState>,
    ctx: TenantContext,
    meta: RequestMeta,
    ApiPath(queue): ApiPath<String>,
) -> Result<Response, ApiError> {
    require_operator(&ctx)?;
    if !state.queues.by_name.contains_key(&queue) {
        return Err(ApiError::NotFound);
    }
    let platform = TenantKeys::platform();
    let now = Utc::now();
    let job = Job {
        job_id: ulid::Ulid::new().to_string(),
        kind: "redrive".into(),
        state: JobState::Queued,
        progress: BTreeMap::from([("moved".to_string(), 0)]),
        detail: serde_json::json!({ "queue": queue }),
        created_by: ctx.user_id.clone(),
        created_at: now.to_rfc3339(),
        updated_at: now.to_rfc3339(),
        error: None,
    };
    let actor = Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() };
    let event = Envelope::new(
        keel_store::PLATFORM_TENANT,
        actor,
        now,
        &RedriveRequested { job_id: job.job_id.clone(), queue: queue.clone() },
    );
    let change = keel_store::audit::FieldChange {
        field: "queue".into(),
        before: serde_json::Value::Null,
        after: queue.clone().into(),
    };
    // The platform's own audit trail: operators' actions, readable by operators at /api/audit.
    let record = meta.audit(&ctx, "system.redrive", "job", &job.job_id, vec![change]);
    let mut unit = UnitOfWork::new(&state.app.db);
    unit.create(jobs::item(&platform, &job)?);
    unit.event(&event)?.audit(&platform, &record)?;
    unit.commit().await?;
    tracing::info!(queue = %queue, job_id = %job.job_id, actor = %ctx.user_id, "redrive requested");
    let location = format!("/api/system/jobs/{}", job.job_id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(job)).into_response())
}

/// A platform job: its state and progress.
#[utoipa::path(get, path = "/api/system/jobs/{job_id}", tag = "system",
    params(("job_id" = Id, Path)),
    responses((status = 200, description = "The job", body = Job), (status = 403, description = "Not a platform operator")),
    security(("bearer" = [])))]
pub async fn platform_job(
    State(state): State<SystemState>,
    ctx: TenantContext,
    ApiPath(job_id): ApiPath<Id>,
) -> Result<Json<Job>, ApiError> {
    require_operator(&ctx)?;
    jobs::get(&state.app.db, &TenantKeys::platform(), &job_id).await?.map(Json).ok_or(ApiError::NotFound)
}

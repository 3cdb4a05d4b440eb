//! `/api/system/*`, administrators only.

use axum::extract::State;
use axum::Json;
use keel_http::{ApiError, ApiPath, Permission, TenantContext};
use keel_store::relay_status::{self, RelayHeartbeat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queues::{depths, BackgroundQueue};
use crate::SystemState;

/// The Lambda functions Keel deploys (template.yaml).
const FUNCTIONS: [&str; 8] =
    ["leads", "relay", "dashboard", "dashboard-counters", "integrations", "audit", "identity", "system"];

fn require_admin(ctx: &TenantContext) -> Result<(), ApiError> {
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
    pub functions: Vec<String>,
}

/// What is deployed where.
#[utoipa::path(get, path = "/api/system/info", tag = "system",
    responses((status = 200, description = "What is deployed", body = SystemInfo),
        (status = 403, description = "Not an administrator")),
    security(("bearer" = [])))]
pub async fn system_info(State(state): State<SystemState>, ctx: TenantContext) -> Result<Json<SystemInfo>, ApiError> {
    require_admin(&ctx)?;
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "unknown".into());
    Ok(Json(SystemInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: option_env!("KEEL_COMMIT").map(str::to_string).unwrap_or_else(|| env("KEEL_COMMIT")),
        stage: env("KEEL_STAGE"),
        region: env("AWS_REGION"),
        table: state.app.db.table.clone(),
        event_bus: env("KEEL_EVENT_BUS"),
        functions: FUNCTIONS.iter().map(|f| f.to_string()).collect(),
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
        (status = 403, description = "Not an administrator")),
    security(("bearer" = [])))]
pub async fn background_tasks(
    State(state): State<SystemState>,
    ctx: TenantContext,
) -> Result<Json<BackgroundTasks>, ApiError> {
    require_admin(&ctx)?;
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Redriven {
    pub queue: String,
    pub moved: usize,
}

/// Moves a queue's dead letters back to it (up to 1,000 per call), after the cause is fixed.
#[utoipa::path(post, path = "/api/system/background-tasks/{queue}/redrive", tag = "system",
    params(("queue" = String, Path, description = "Queue name, e.g. dashboard-counters")),
    responses((status = 200, description = "How many dead letters moved back", body = Redriven),
        (status = 403, description = "Not an administrator")),
    security(("bearer" = [])))]
pub async fn redrive(
    State(state): State<SystemState>,
    ctx: TenantContext,
    ApiPath(queue): ApiPath<String>,
) -> Result<Json<Redriven>, ApiError> {
    require_admin(&ctx)?;
    let (url, dlq) = state.queues.by_name.get(&queue).ok_or(ApiError::NotFound)?;
    let moved = keel_worker::redrive::redrive(&state.sqs, dlq, url, 1000).await.map_err(ApiError::Unavailable)?;
    tracing::info!(queue = %queue, moved, actor = %ctx.user_id, "dead letters redriven");
    Ok(Json(Redriven { queue, moved }))
}

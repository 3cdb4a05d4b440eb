//! `GET /api/companies/{company_id}/jobs`: the company's background work (imports, bulk actions,
//! sequence runs as they arrive) with state and progress, and how promptly its events reach the
//! bus. Administrators only; what the platform's queues look like is the operators' business.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use keel_http::{ApiError, ApiPath, AppState, Id, Page, Pager, Permission, TenantContext};
use keel_store::db::s;
use keel_store::jobs::{self, Job};
use keel_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// 1-100, default 20
    limit: Option<u32>,
    cursor: Option<String>,
}

/// How the company's latest event is doing on its way to the bus.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventDelivery {
    /// When the company's latest event happened (null: none yet).
    pub last_event_at: Option<String>,
    /// When it reached the bus (null: not yet).
    pub last_published_at: Option<String>,
    /// Commit → bus delay of that event, or how long it has been waiting, in milliseconds.
    pub lag_ms: Option<i64>,
    /// True while the latest event has not reached the bus.
    pub waiting: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackgroundWork {
    pub jobs: Page<Job>,
    pub events: EventDelivery,
}

/// The company's background work, newest first, and its events' delivery.
#[utoipa::path(get, path = "/api/companies/{company_id}/jobs", tag = "integrations",
    params(("company_id" = Id, Path), JobParams),
    responses((status = 200, description = "The company's jobs and event delivery", body = BackgroundWork),
        (status = 403, description = "Not an administrator")),
    security(("bearer" = [])))]
pub async fn background_work(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(query): RawQuery,
) -> Result<Json<BackgroundWork>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ViewBackgroundWork)?;
    let params: JobParams = keel_http::parse_query(query.as_deref())?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "jobs", &());
    let start = pager.start(params.cursor.as_deref())?;
    // Two independent reads, side by side: the jobs page and the newest outbox event.
    let (listed, latest) = tokio::join!(jobs::list(&app.db, keys, limit as i32, start), latest_event(&app, keys));
    let (items, last) = listed?;
    Ok(Json(BackgroundWork { jobs: pager.page(items, last), events: latest? }))
}

/// The newest outbox event of the tenant (1 Query, newest first, limit 1).
async fn latest_event(app: &AppState, keys: &keel_store::TenantKeys) -> Result<EventDelivery, ApiError> {
    let out = app
        .db
        .client
        .query()
        .table_name(&app.db.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(keys.events()))
        .scan_index_forward(false)
        .limit(1)
        .projection_expression("envelope, published_at")
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let Some(item) = out.items.unwrap_or_default().into_iter().next() else {
        return Ok(EventDelivery { last_event_at: None, last_published_at: None, lag_ms: None, waiting: false });
    };
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let occurred: Option<DateTime<Utc>> = text("envelope")
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
        .and_then(|e| e["occurred_at"].as_str().and_then(|t| t.parse().ok()));
    let published: Option<DateTime<Utc>> = text("published_at").and_then(|t| t.parse().ok());
    let lag_ms = occurred.map(|o| (published.unwrap_or_else(Utc::now) - o).num_milliseconds().max(0));
    Ok(EventDelivery {
        last_event_at: occurred.map(|o| o.to_rfc3339()),
        last_published_at: published.map(|p| p.to_rfc3339()),
        lag_ms,
        waiting: published.is_none(),
    })
}

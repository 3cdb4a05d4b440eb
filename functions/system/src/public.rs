//! The routes anyone may call: health (for load balancers, uptime checks and the dev stack's
//! start-up), the OpenAPI document, and what each problem `type` means.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use keel_http::problem::{ProblemKind, PROBLEM_KINDS};
use keel_http::{ApiError, ApiPath};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::SystemState;

/// The OpenAPI document generated from the code (`make openapi`; `make test` fails when the
/// committed copy is stale), so the deployed API describes itself.
const OPENAPI_DOCUMENT: &str = include_str!("../../../web/src/api/openapi.json");

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `up` or `down`.
    pub status: String,
    pub dynamodb: String,
}

/// 200 once the table answers, 503 while it does not.
#[utoipa::path(get, path = "/api/health", tag = "system",
    responses((status = 200, description = "Up", body = Health),
        (status = 503, description = "The table does not answer", body = Health)))]
pub async fn health(State(state): State<SystemState>) -> (StatusCode, Json<Health>) {
    // One key read: the cheapest call that proves the table and the function's access to it.
    let up = keel_store::relay_status::read(&state.app.db).await.is_ok();
    let word = if up { "up" } else { "down" };
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Health { status: word.into(), dynamodb: word.into() }))
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi_document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_DOCUMENT)
}

/// What a problem `type` (`/api/problems/{slug}`) means.
#[utoipa::path(get, path = "/api/problems/{slug}", tag = "system",
    params(("slug" = String, Path, description = "The last segment of a problem's `type`")),
    responses((status = 200, description = "What the problem means", body = ProblemKind)))]
pub async fn problem_kind(ApiPath(slug): ApiPath<String>) -> Result<Json<ProblemKind>, ApiError> {
    PROBLEM_KINDS.iter().find(|k| k.slug == slug).copied().map(Json).ok_or(ApiError::NotFound)
}

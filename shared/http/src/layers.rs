//! The middleware every entrypoint (Lambda or dev server) wraps its routers in, applied once to
//! the merged router so the behaviour is the same wherever the code runs.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tracing::Instrument;

use crate::json::BODY_LIMIT;
use crate::{ApiError, RequestMeta};

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request id, structured request log, body limit and problem+json for unknown routes/methods.
pub fn with_edge(router: Router) -> Router {
    router
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound })
        .route_layer(middleware::from_fn(record_route))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(crate::conditional::conditional_get))
        .layer(middleware::from_fn(request_context))
}

/// A caller-supplied id is kept when it is short and plain (so traces can be joined across
/// systems); otherwise a new one is made.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

async fn request_context(mut req: Request, next: Next) -> Response {
    // Where the API sits behind the web distribution, only requests through it are served: a direct
    // call to the API's own address could claim any viewer address and would skip the edge's guards.
    if let Some(secret) = crate::request_meta::edge_secret() {
        if !crate::request_meta::through_edge(req.headers(), secret) {
            return ApiError::Forbidden("Use the product's address; this API answers only through it.").into_response();
        }
    }
    let started = Instant::now();
    let id = request_id(&req);
    let source_ip = RequestMeta::source_ip(&req);
    req.extensions_mut().insert(RequestMeta { request_id: id.clone(), source_ip });
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        %method,
        route = tracing::field::Empty,
        tenant_id = tracing::field::Empty
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(status, latency_ms = started.elapsed().as_secs_f64() * 1000.0, "request served");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    response
}

/// Runs after routing, so the route template is known: logged instead of the concrete path.
async fn record_route(req: Request, next: Next) -> Response {
    if let Some(path) = req.extensions().get::<MatchedPath>() {
        tracing::Span::current().record("route", path.as_str());
    }
    next.run(req).await
}

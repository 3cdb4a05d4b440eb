//! Optimistic concurrency on the wire: `ETag: "<version>"` out, `If-Match` (or `version`) in.

use crate::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

pub fn etag(version: u64) -> (header::HeaderName, HeaderValue) {
    (header::ETAG, HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header"))
}

/// A versioned record as a response: its JSON with `ETag`, and `Location` when it was just made.
pub fn versioned<T: serde::Serialize>(status: StatusCode, version: u64, body: T, location: Option<String>) -> Response {
    let mut response = (status, [etag(version)], Json(body)).into_response();
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The version a write expects: `If-Match` wins over the body's `version`; neither is a 428.
pub fn expected(headers: &HeaderMap, body_version: Option<u64>) -> Result<u64, ApiError> {
    match headers.get(header::IF_MATCH) {
        Some(v) => {
            let raw = v.to_str().unwrap_or_default().trim();
            let raw = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
            raw.parse().map_err(|_| ApiError::field("If-Match", "must be the ETag you read, like \"3\""))
        }
        None => body_version.ok_or(ApiError::PreconditionRequired),
    }
}

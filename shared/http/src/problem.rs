//! RFC 9457 problem details: the one shape every error takes on the wire. AWS and internal error
//! text is logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keel_core::{FieldError, FieldErrors};
use keel_store::{Refusal, StoreError, WriteError};
use serde::Serialize;
use utoipa::ToSchema;

/// `application/problem+json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the problem kind.
    #[serde(rename = "type")]
    #[schema(example = "/api/problems/validation")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The existing record a conflict is about (for example the lead with the same email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    /// The current version, for stale-version conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

/// Problem `type` URIs live under a path Keel serves (`GET /api/problems/{slug}` describes each).
pub const PROBLEM_TYPE_BASE: &str = "/api/problems/";

/// A kind of problem: its `type` slug, title, status and what it means for a client.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ProblemKind {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub about: &'static str,
}

/// Every kind of problem the API answers.
pub const PROBLEM_KINDS: [ProblemKind; 19] = [
    kind("validation", "Invalid input", 400, "Fields are missing or malformed; `errors` names each with the reason."),
    kind(
        "malformed",
        "Malformed request",
        400,
        "The body, path or query could not be read (bad JSON, unknown field, bad parameter).",
    ),
    kind(
        "unauthorized",
        "Unauthorized",
        401,
        "No bearer token, or one that is invalid, expired or revoked: sign in again.",
    ),
    kind(
        "bad-signature",
        "Bad signature",
        401,
        "A provider's signed delivery (a webhook) whose signature does not match the secret it was set up with.",
    ),
    kind("forbidden", "Forbidden", 403, "Your role may not do this."),
    kind("not-found", "Not found", 404, "Nothing exists at this address for your company."),
    kind("method-not-allowed", "Method not allowed", 405, "This address does not accept that method."),
    kind("duplicate", "Duplicate", 409, "Another record already holds a unique value; `existing_id` names it."),
    kind(
        "stale-version",
        "Stale version",
        409,
        "The record changed since you read it; `current_version` says to what.",
    ),
    kind(
        "not-eligible",
        "Not eligible",
        409,
        "The record is not ready for this (a lead that is not qualified); `errors` lists each unmet condition.",
    ),
    kind(
        "never-deleted",
        "Never deleted",
        405,
        "Accounts are never deleted: set their lifecycle to inactive instead; their history stays.",
    ),
    kind("too-large", "Request too large", 413, "The body is larger than the limit."),
    kind("unsupported-media-type", "Unsupported media type", 415, "Send the body as application/json."),
    kind("rule-violated", "Not allowed", 422, "A business rule refuses the change; `errors` names the rule."),
    kind("idempotency-key-reused", "Idempotency key reused", 422, "The Idempotency-Key was used with another body."),
    kind(
        "version-required",
        "Version required",
        428,
        "Updates must say which version they change (If-Match or `version`).",
    ),
    kind(
        "rate-limited",
        "Too many requests",
        429,
        "Your company or you made too many requests; retry after `Retry-After` seconds.",
    ),
    kind("unavailable", "Temporarily unavailable", 503, "The service is busy; retry after `Retry-After` seconds."),
    kind("internal", "Internal error", 500, "Something went wrong on Keel's side; it has been logged."),
];

const fn kind(slug: &'static str, title: &'static str, status: u16, about: &'static str) -> ProblemKind {
    ProblemKind { slug, title, status, about }
}

/// Everything a handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// A signed request from a provider (a webhook) whose signature does not check: 401, with no
    /// sign-in advice, since no person signs it.
    #[error("bad signature")]
    BadSignature(&'static str),
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    /// A path parameter no record can have (see `keel_http::path`): not found, naming the parameter.
    #[error("not found: no such {0}")]
    NoSuchId(String),
    #[error("duplicate")]
    Duplicate { detail: String, field: &'static str, existing_id: String },
    #[error("stale version")]
    Stale { current_version: Option<u64> },
    #[error("precondition required")]
    PreconditionRequired,
    #[error("rule violated")]
    Rule(FieldErrors),
    /// The record is not ready for what was asked (a lead that is not qualified, converted):
    /// `errors` lists each unmet condition with why.
    #[error("not eligible")]
    NotEligible { detail: String, errors: FieldErrors },
    /// Records that are never deleted (accounts) answer `DELETE` with where to go instead.
    #[error("never deleted")]
    NeverDeleted(&'static str),
    #[error("idempotency key reused with another request")]
    IdempotencyMismatch,
    /// The body is over the limit this path takes, named for the caller (`"256 KB"`).
    #[error("payload too large")]
    TooLarge(&'static str),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("rate limited")]
    RateLimited { retry_after: i64 },
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Every context's refused writes become problems here, the same way everywhere.
impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Duplicate { entity, field, existing_id } => ApiError::Duplicate {
                detail: format!("A {entity} with this {field} already exists."),
                field,
                existing_id,
            },
            Refusal::Stale => ApiError::Stale { current_version: None },
            Refusal::Rule { field, message } => {
                let mut e = FieldErrors::default();
                e.add(field, message);
                ApiError::Rule(e)
            }
            Refusal::KeyUsed => ApiError::IdempotencyMismatch,
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Refused(r) => r.into(),
            WriteError::Store(e) => e.into(),
        }
    }
}

impl ApiError {
    /// A business rule refused `field` (422), as opposed to its shape (400, [`ApiError::field`]).
    pub fn rule(field: &str, message: impl Into<String>) -> ApiError {
        let mut e = FieldErrors::default();
        e.add(field, message);
        ApiError::Rule(e)
    }

    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        let mut e = FieldErrors::default();
        e.add(field, message);
        ApiError::Validation(e)
    }

    pub fn problem(&self) -> Problem {
        let p = |status: StatusCode, kind: &str, title: &str, detail: String| Problem {
            kind: format!("{PROBLEM_TYPE_BASE}{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors: vec![],
            existing_id: None,
            current_version: None,
        };
        match self {
            ApiError::Validation(errors) => Problem {
                errors: errors.0.clone(),
                ..p(StatusCode::BAD_REQUEST, "validation", "Invalid input", summary(errors))
            },
            ApiError::Malformed(detail) => p(StatusCode::BAD_REQUEST, "malformed", "Malformed request", detail.clone()),
            ApiError::Unauthorized(why) => {
                p(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", format!("{why}. Sign in again."))
            }
            ApiError::BadSignature(why) => {
                p(StatusCode::UNAUTHORIZED, "bad-signature", "Bad signature", why.to_string())
            }
            ApiError::Forbidden(why) => p(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why.to_string()),
            ApiError::NotFound => {
                p(StatusCode::NOT_FOUND, "not-found", "Not found", "Nothing exists at this address.".into())
            }
            ApiError::NoSuchId(param) => Problem {
                errors: vec![FieldError { field: param.clone(), message: crate::path::ID_RULE.into() }],
                ..p(StatusCode::NOT_FOUND, "not-found", "Not found", "Nothing exists at this address.".into())
            },
            ApiError::Duplicate { detail, field, existing_id } => Problem {
                errors: vec![FieldError { field: field.to_string(), message: detail.clone() }],
                existing_id: Some(existing_id.clone()),
                ..p(StatusCode::CONFLICT, "duplicate", "Duplicate", detail.clone())
            },
            ApiError::Stale { current_version } => Problem {
                current_version: *current_version,
                ..p(
                    StatusCode::CONFLICT,
                    "stale-version",
                    "Stale version",
                    "Someone changed this record since you read it. Reload it and apply your change again.".into(),
                )
            },
            ApiError::PreconditionRequired => Problem {
                errors: vec![FieldError {
                    field: "version".into(),
                    message: "send the version you read, in If-Match or the body".into(),
                }],
                ..p(
                    StatusCode::PRECONDITION_REQUIRED,
                    "version-required",
                    "Version required",
                    "Updates must say which version they change (If-Match header or `version`).".into(),
                )
            },
            ApiError::Rule(errors) => Problem {
                errors: errors.0.clone(),
                ..p(StatusCode::UNPROCESSABLE_ENTITY, "rule-violated", "Not allowed", summary(errors))
            },
            ApiError::NotEligible { detail, errors } => Problem {
                errors: errors.0.clone(),
                ..p(StatusCode::CONFLICT, "not-eligible", "Not eligible", detail.clone())
            },
            ApiError::NeverDeleted(detail) => {
                p(StatusCode::METHOD_NOT_ALLOWED, "never-deleted", "Never deleted", detail.to_string())
            }
            ApiError::IdempotencyMismatch => p(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
                "This Idempotency-Key was already used with a different request body.".into(),
            ),
            ApiError::TooLarge(limit) => p(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
                format!("The request body is larger than {limit}."),
            ),
            ApiError::UnsupportedMediaType => p(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.".into(),
            ),
            ApiError::MethodNotAllowed => p(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "This address does not accept that method.".into(),
            ),
            ApiError::RateLimited { retry_after } => p(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("Your company or you made too many requests. Retry in {retry_after} s."),
            ),
            ApiError::Unavailable(_) => p(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
                "The service is busy. Retry in a moment.".into(),
            ),
            ApiError::Internal(_) => p(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "Something went wrong on our side. It has been logged.".into(),
            ),
        }
    }
}

fn summary(errors: &FieldErrors) -> String {
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    format!("Check these fields: {}.", fields.join(", "))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(m) | ApiError::Unavailable(m) => tracing::error!(error = %m, "request failed"),
            _ => {}
        }
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, serde_json::to_vec(&problem).unwrap_or_default()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match &self {
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::RateLimited { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_answered_is_a_documented_kind() {
        let errors = [
            ApiError::Validation(FieldErrors::default()),
            ApiError::Malformed(String::new()),
            ApiError::Unauthorized("x"),
            ApiError::BadSignature("x"),
            ApiError::Forbidden("x"),
            ApiError::NotFound,
            ApiError::NoSuchId("lead_id".into()),
            ApiError::MethodNotAllowed,
            ApiError::Duplicate { detail: String::new(), field: "email", existing_id: String::new() },
            ApiError::Stale { current_version: None },
            ApiError::TooLarge("x"),
            ApiError::UnsupportedMediaType,
            ApiError::Rule(FieldErrors::default()),
            ApiError::NotEligible { detail: String::new(), errors: FieldErrors::default() },
            ApiError::NeverDeleted("x"),
            ApiError::IdempotencyMismatch,
            ApiError::PreconditionRequired,
            ApiError::RateLimited { retry_after: 1 },
            ApiError::Unavailable(String::new()),
            ApiError::Internal(String::new()),
        ];
        for e in errors {
            let p = e.problem();
            let slug = p.kind.strip_prefix(PROBLEM_TYPE_BASE).expect("type under the product's path");
            let kind = PROBLEM_KINDS.iter().find(|k| k.slug == slug).unwrap_or_else(|| panic!("{slug} undocumented"));
            assert_eq!((kind.title, kind.status), (p.title.as_str(), p.status), "{slug}");
        }
    }
}

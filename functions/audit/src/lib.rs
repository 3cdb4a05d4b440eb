//! Audit trail: `GET /api/audit`, the company's append-only record of every change, for its
//! administrators. Records are written by each context in the same transaction as the change
//! (`keel_store::audit`); this context only reads them.

mod query;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query::list_audit))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The audit trail API Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "AuditFunction",
        trigger: Trigger::Http { openapi, app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?)) }) },
        aws_calls: &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "secretsmanager:GetSecretValue"],
        writes_events: false,
    }
}

//! Integrations: `GET /api/companies/{company_id}/events` — the company's own domain events in
//! order, kept 30 days, for integrations that were down to catch up. Live delivery goes through
//! EventBridge (see docs/events.md); this feed is the replayable record of the same events.
//! `GET /api/companies/{company_id}/jobs` — the company's background work and event delivery.

mod feed;
mod jobs;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use feed::EventPage;
pub use jobs::{BackgroundWork, EventDelivery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed::list_events)).routes(routes!(jobs::background_work))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The integrations API Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "IntegrationsFunction",
        trigger: Trigger::Http { openapi, app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?)) }) },
        aws_calls: &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "secretsmanager:GetSecretValue"],
        writes_events: false,
    }
}

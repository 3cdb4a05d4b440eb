//! Leads: omni-channel capture with mandatory attribution, dedupe by email and phone, scoring,
//! filtered listing and archiving. Runs as its own Lambda; the dev server mounts the same router.

mod archive;
mod capture;
mod item;
mod list;
mod read;
mod repo;
mod update;
mod version;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The leads routes with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list::list_leads, capture::create_lead)).routes(routes!(
        read::get_lead,
        update::update_lead,
        archive::archive_lead
    ))
}

/// The leads API, ready to serve (Lambda or dev server).
pub fn router(state: AppState) -> axum::Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The OpenAPI paths and schemas of the leads API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The leads Lambda: its routes, and the AWS calls they make (standing and rate-limit checks included).
pub fn function() -> Function {
    Function {
        logical_id: "LeadsFunction",
        trigger: Trigger::Http { openapi, app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?)) }) },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "secretsmanager:GetSecretValue",
        ],
        writes_events: true,
    }
}

//! System status for administrators: what is deployed, how the background work is doing (queue
//! depths, dead letters, relay lag) and moving dead-lettered messages back once fixed.

mod public;
mod queues;
mod routes;

use axum::extract::FromRef;
use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use public::Health;
pub use queues::{BackgroundQueue, Queues};
pub use routes::{BackgroundTasks, RelayStatus, SystemInfo};

/// The system routes' state: the shared app state plus the SQS client and the queue map.
#[derive(Clone)]
pub struct SystemState {
    pub app: AppState,
    pub sqs: aws_sdk_sqs::Client,
    pub queues: Queues,
}

impl FromRef<SystemState> for AppState {
    fn from_ref(s: &SystemState) -> AppState {
        s.app.clone()
    }
}

pub fn routes() -> OpenApiRouter<SystemState> {
    OpenApiRouter::new()
        .routes(routes!(public::health))
        .routes(routes!(public::openapi_document))
        .routes(routes!(public::problem_kind))
        .routes(routes!(routes::system_info))
        .routes(routes!(routes::background_tasks))
        .routes(routes!(routes::redrive))
}

pub fn router(app: AppState, sqs: aws_sdk_sqs::Client) -> axum::Router {
    let state = SystemState { app, sqs, queues: Queues::from_env() };
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The system status Lambda (also health and the OpenAPI document).
pub fn function() -> Function {
    Function {
        logical_id: "SystemFunction",
        trigger: Trigger::Http {
            openapi,
            app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?, runtime.sqs())) }),
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "sqs:GetQueueAttributes",
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
        ],
        writes_events: false,
    }
}

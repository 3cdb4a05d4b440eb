//! The platform, for its operators: what is deployed, how the background work is doing (queue
//! depths, dead letters, relay lag), dead-letter redrives as background jobs; and the routes
//! anyone may call (health, the OpenAPI document, what a problem type means).

mod public;
mod queues;
mod routes;
mod runner;
pub mod scheduler;

use axum::extract::FromRef;
use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use public::Health;
pub use queues::{BackgroundQueue, Queues};
pub use routes::{BackgroundTasks, RelayStatus, SystemInfo};
pub use runner::{RedriveRunner, CHUNK as REDRIVE_CHUNK};
pub use scheduler::{RunSummary, Scheduler};

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
        .routes(routes!(routes::platform_job))
}

pub fn router(app: AppState, sqs: aws_sdk_sqs::Client) -> axum::Router {
    let state = SystemState { app, sqs, queues: Queues::from_env() };
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The system Lambda: operators' routes, health and the OpenAPI document.
pub fn function() -> Function {
    Function {
        logical_id: "SystemFunction",
        trigger: Trigger::Http {
            openapi,
            app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?, runtime.sqs())) }),
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "sqs:GetQueueAttributes"],
        writes_events: true,
    }
}

/// The system jobs consumer Lambda: redrives, a chunk per event.
pub fn jobs_function() -> Function {
    Function {
        logical_id: "SystemJobsFunction",
        trigger: Trigger::Queue {
            queue: "SystemJobsQueue",
            sources: &[keel_events::system::SOURCE_SYSTEM],
            detail_types: &["RedriveRequested"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    let runner = RedriveRunner { db: db.clone(), sqs: runtime.sqs(), queues: Queues::from_env() };
                    Ok(keel_function::consumer(db, runner))
                })
            },
        },
        aws_calls: &[
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "sqs:ReceiveMessage",
            "sqs:SendMessage",
            "sqs:DeleteMessage",
        ],
        writes_events: true,
    }
}

/// The scheduler Lambda: every minute, the work that came due (tasks to escalate; later sequence
/// steps and renewals) to its kind's queue.
pub fn scheduler_function() -> Function {
    Function {
        logical_id: "SchedulerFunction",
        trigger: Trigger::Schedule {
            expression: "rate(1 minute)",
            feeds: scheduler::FEEDS,
            handler: |runtime| {
                Box::pin(async move {
                    let scheduler = std::sync::Arc::new(Scheduler::from_env(runtime.db()?, runtime.sqs()));
                    let handler: keel_function::ScheduleHandler = std::sync::Arc::new(move |now| {
                        let scheduler = scheduler.clone();
                        Box::pin(async move {
                            let summary = scheduler.run(now).await?;
                            // Work that could not be handed off fails the run, so the errors alarm sees it.
                            if summary.left > 0 {
                                return Err(format!(
                                    "{} due entries could not be handed off: {summary:?}",
                                    summary.left
                                ));
                            }
                            serde_json::to_value(summary).map_err(|e| e.to_string())
                        })
                    });
                    Ok(handler)
                })
            },
        },
        aws_calls: &["dynamodb:Query", "dynamodb:BatchWriteItem", "sqs:SendMessage"],
        writes_events: false,
    }
}

//! Tasks: follow-ups with an assignee, a due time, a priority and a status, their escalation when
//! they stay open past their due time (through the due-time index and the scheduler), the
//! company's automation rules that make tasks by themselves, per-rule statistics, and the in-app
//! notifications escalations send.

mod automation;
mod escalation;
mod notifications;
mod policy;
mod repo;
mod rules;
mod stats;
mod tasks;
mod work;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use escalation::escalation_entry;
pub use notifications::Notifications;
pub use repo::Notification;
pub use rules::{AutoCreateRequest, AutoCreateResult, AutomationRules, RuleRun};
pub use stats::{AutomationStats, TaskCounts};
pub use work::{TaskWork, TASK_WORK_EVENTS};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tasks::list_tasks, tasks::create_task))
        .routes(routes!(tasks::get_task, tasks::update_task, tasks::delete_task))
        .routes(routes!(policy::get_policy, policy::put_policy))
        .routes(routes!(stats::automation_stats))
        .routes(routes!(rules::list_rules, rules::create_rule))
        .routes(routes!(rules::update_rule, rules::delete_rule))
        .routes(routes!(rules::auto_create_for_leads))
        .routes(routes!(notifications::list_notifications))
        .routes(routes!(notifications::read_notification))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The tasks Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "TasksFunction",
        trigger: Trigger::Http { openapi, app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?)) }) },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "secretsmanager:GetSecretValue",
        ],
        writes_events: false,
    }
}

/// The task work Lambda: escalations and automation checks the scheduler hands it directly, and
/// captured leads and new deals the bus routes to it for the automation rules.
pub fn work_function() -> Function {
    Function {
        logical_id: "TaskWorkFunction",
        trigger: Trigger::Queue {
            queue: "TaskWorkQueue",
            sources: &["keel.leads", "keel.deals"],
            detail_types: TASK_WORK_EVENTS,
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), TaskWork { db }))
                })
            },
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        writes_events: true,
    }
}

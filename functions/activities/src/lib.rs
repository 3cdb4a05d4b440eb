//! Activities: calls, emails, meetings, notes, tasks and WhatsApp messages people log on leads,
//! accounts, contacts and deals, and the system activities the product writes from what happened
//! (capture, qualification, conversion, stage moves, wins and losses). Each activity is copied into
//! the collection of every record it concerns at write time, so a timeline page is one `Query`.

mod activities;
mod repo;
mod timeline;
mod timelines;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use timeline::{Timeline, TimelineIn, TIMELINE_EVENTS};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activities::list_activities, activities::create_activity))
        .routes(routes!(activities::get_activity, activities::update_activity, activities::delete_activity))
        .routes(routes!(timelines::lead_timeline))
        .routes(routes!(timelines::account_timeline))
        .routes(routes!(timelines::contact_timeline))
        .routes(routes!(timelines::deal_timeline))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The activities Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "ActivitiesFunction",
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

/// The timeline Lambda: lead and deal events → system activities on the timelines they concern;
/// a conversion copies the lead's history onto the account and contact it became.
pub fn timeline_function() -> Function {
    Function {
        logical_id: "TimelineFunction",
        trigger: Trigger::Queue {
            queue: "TimelineQueue",
            sources: &["keel.leads", "keel.deals"],
            detail_types: TIMELINE_EVENTS,
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), Timeline::on(db)))
                })
            },
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        writes_events: false,
    }
}

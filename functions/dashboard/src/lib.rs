//! Dashboard: counts of the tenant's leads by status, source and score band, kept current by the
//! `dashboard-counters` consumer from lead events (`ADD` updates on one rollup item per tenant)
//! and served with one `GetItem` however many leads there are.

pub mod counters;
pub mod rollup;
mod summary;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use counters::DashboardCounters;
pub use summary::{DashboardSummary, LeadCounts};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary::dashboard_summary))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The dashboard API Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "DashboardFunction",
        trigger: Trigger::Http { openapi, app: |runtime| Box::pin(async move { Ok(router(runtime.app_state()?)) }) },
        aws_calls: &["dynamodb:GetItem", "dynamodb:UpdateItem"],
        writes_events: false,
    }
}

/// The dashboard counters consumer Lambda: lead events keep the per-tenant rollups current.
pub fn counters_function() -> Function {
    Function {
        logical_id: "DashboardCountersFunction",
        trigger: Trigger::Queue {
            queue: "DashboardCountersQueue",
            sources: &["keel.leads"],
            detail_types: &["LeadCreated", "LeadUpdated", "LeadArchived"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), DashboardCounters { db }))
                })
            },
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        writes_events: false,
    }
}

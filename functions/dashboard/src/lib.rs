//! Dashboard: counts of the tenant's leads by status, source and score band, kept current by the
//! `dashboard-counters` consumer from lead events (`ADD` updates on one rollup item per tenant)
//! and served with one `GetItem` however many leads there are.

pub mod counters;
pub mod rollup;
mod summary;

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

//! Deals (opportunities): created by hand on an account or born in a conversion, moved through
//! their pipeline's stages (won and lost are final), archived by managers, never deleted. The
//! board, the forecast (now or as of any past day), its "what moved" list and the trends read
//! rollups that the `deal-rollups` consumer keeps from `DealChanged` events, so their cost does not
//! grow with the number of deals.

mod board;
mod deals;
mod forecast;
mod pipelines;
mod quotas;
mod repo;
mod rollups;
mod stages;
mod trends;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use rollups::{writes as rollup_writes, DealRollups, DealRollupsIn};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deals::list_deals, deals::create_deal))
        .routes(routes!(deals::get_deal, deals::update_deal, deals::archive_deal))
        .routes(routes!(stages::move_stage))
        .routes(routes!(stages::stage_history))
        .routes(routes!(pipelines::list_pipelines, pipelines::create_pipeline))
        .routes(routes!(pipelines::get_pipeline, pipelines::replace_pipeline))
        .routes(routes!(board::pipeline_view))
        .routes(routes!(forecast::forecast))
        .routes(routes!(forecast::forecast_changes))
        .routes(routes!(quotas::list_quotas, quotas::set_quota))
        .routes(routes!(trends::trend_analysis))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The deals Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "DealsFunction",
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
        writes_events: true,
    }
}

/// The deal rollups Lambda: `DealChanged` → forecast (with its daily history and change records),
/// board column totals and monthly trends.
pub fn rollups_function() -> Function {
    Function {
        logical_id: "DealRollupsFunction",
        trigger: Trigger::Queue {
            queue: "DealRollupsQueue",
            sources: &["keel.deals"],
            detail_types: &["DealChanged"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), DealRollups::on(&db.table)))
                })
            },
        },
        aws_calls: &["dynamodb:PutItem", "dynamodb:UpdateItem"],
        writes_events: false,
    }
}

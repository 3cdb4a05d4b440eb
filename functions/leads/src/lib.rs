//! Leads: omni-channel capture with mandatory attribution, dedupe by email and phone, scoring,
//! filtered listing and archiving; qualification (BANT / MEDDICC, risk, recycle, disqualify) and
//! account-first conversion. Runs as its own Lambda; the dev server mounts the same router. The
//! conversion follow-up consumer is a second Lambda of this crate.

mod archive;
mod capture;
mod convert;
mod decide;
mod followup;
mod list;
mod policy;
mod preview;
mod qualification;
mod qualify;
mod read;
mod repo;
mod update;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use convert::ConversionResult;
pub use followup::ConversionFollowups;

/// The leads routes with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_leads, capture::create_lead))
        .routes(routes!(read::get_lead, update::update_lead, archive::archive_lead))
        .routes(routes!(policy::get_policy, policy::put_policy))
        .routes(routes!(qualify::qualify_lead))
        .routes(routes!(qualification::get_qualification))
        .routes(routes!(qualification::get_risk_score))
        .routes(routes!(decide::recycle_lead))
        .routes(routes!(decide::disqualify_lead))
        .routes(routes!(decide::reverse_decision))
        .routes(routes!(convert::convert_lead))
        .routes(routes!(preview::conversion_preview))
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

/// The conversion follow-up Lambda: `LeadQualified` → auto-convert when the company's policy says so.
pub fn conversion_function() -> Function {
    Function {
        logical_id: "LeadConversionFunction",
        trigger: Trigger::Queue {
            queue: "ConversionFollowupsQueue",
            sources: &["keel.leads"],
            detail_types: &["LeadQualified"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), ConversionFollowups { db }))
                })
            },
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        writes_events: true,
    }
}

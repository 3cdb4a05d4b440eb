//! Customers: accounts (the API's `customers`; never deleted, lifecycle with allowed moves, health
//! score, one-Query overview) and their contacts (roles, one primary per account, moves between
//! accounts). Conversion creates both through the same item layout (`keel_store::crm`).

mod accounts;
mod contacts;
mod overview;
mod repo;
mod revenue;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use accounts::AccountView;
pub use overview::AccountOverview;
pub use revenue::AccountRevenue;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts::list_accounts, accounts::create_account))
        .routes(routes!(accounts::get_account, accounts::update_account, accounts::delete_account))
        .routes(routes!(overview::account_overview))
        .routes(routes!(contacts::list_contacts, contacts::create_contact))
        .routes(routes!(contacts::get_contact, contacts::update_contact, contacts::delete_contact))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The customers Lambda.
pub fn function() -> Function {
    Function {
        logical_id: "CustomersFunction",
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

/// The account revenue Lambda: `DealWon` → the account becomes a customer and its counters move.
pub fn revenue_function() -> Function {
    Function {
        logical_id: "AccountRevenueFunction",
        trigger: Trigger::Queue {
            queue: "AccountRevenueQueue",
            sources: &["keel.deals"],
            detail_types: &["DealWon"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), AccountRevenue { db }))
                })
            },
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        writes_events: true,
    }
}

//! Identity: companies and their users, sign-up and sessions (`/api/auth/*`), and who may do what
//! (`/api/permissions/*`).

mod auth;
mod lockout;
mod password;
mod permissions;
mod records;
mod sessions;
mod users;

pub use auth::IdentityState;
use keel_function::{Function, Trigger};
use keel_http::state::TokenSettings;
use keel_http::{AppState, TokenIssuer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use permissions::{MyPermissions, RolePermissions};

pub fn routes() -> OpenApiRouter<IdentityState> {
    OpenApiRouter::new()
        .routes(routes!(permissions::roles))
        .routes(routes!(permissions::me))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::update_user))
}

/// The identity API. Only this context holds the token signing key.
pub fn router(app: AppState, issuer: TokenIssuer) -> axum::Router {
    routes().split_for_parts().0.with_state(IdentityState { app, issuer })
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The identity Lambda: the only function that holds the token signing key.
pub fn function() -> Function {
    Function {
        logical_id: "IdentityFunction",
        trigger: Trigger::Http {
            openapi,
            app: |runtime| {
                Box::pin(async move {
                    let issuer = TokenSettings::from_env()?.issuer()?;
                    Ok(router(runtime.app_state()?, issuer))
                })
            },
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
        ],
        writes_events: false,
    }
}

//! Identity: companies and their users, sign-up and sessions (`/api/auth/*`), and who may do what
//! (`/api/permissions/*`).

mod auth;
mod lockout;
mod password;
mod permissions;
mod records;
mod sessions;
mod signing;
mod users;

use std::sync::Arc;

pub use auth::IdentityState;
use keel_function::{Function, Trigger};
pub use signing::Signer;

use keel_http::state::{SecretSetting, TokenSettings};
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

/// The identity API with a signing key given directly (tests, local tooling).
pub fn router(app: AppState, issuer: TokenIssuer) -> axum::Router {
    router_with(app, Signer::Fixed(Arc::new(issuer)))
}

/// The identity API. Only this context holds the token signing key. Its answers carry tokens and
/// people's details: no browser or proxy may keep them (`Cache-Control: no-store`).
pub fn router_with(app: AppState, signer: Signer) -> axum::Router {
    routes().split_for_parts().0.with_state(IdentityState { app, signer: Arc::new(signer) }).layer(
        axum::middleware::map_response(|mut response: axum::response::Response| async move {
            response
                .headers_mut()
                .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            response
        }),
    )
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
                    let tokens = TokenSettings::from_env()?;
                    // The signing key from Secrets Manager where deployed; from the environment
                    // only where no secret is named (local tooling).
                    let signer = match SecretSetting::from_env("KEEL_JWT_SECRET") {
                        setting @ SecretSetting::SecretsManager(_) => {
                            let secret = setting.cached(Some(runtime.secretsmanager())).ok_or("no signing key")?;
                            Signer::secret(secret, &tokens.issuer, &tokens.audience)
                        }
                        _ => Signer::Fixed(Arc::new(tokens.issuer()?)),
                    };
                    Ok(router_with(runtime.app_state()?, signer))
                })
            },
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "secretsmanager:GetSecretValue",
        ],
        writes_events: false,
    }
}

//! Identity: companies and their users, the account lifecycle — sign-up with a verified email,
//! sign-in, sessions, password change and reset (`/api/auth/*`) — and who may do what
//! (`/api/permissions/*`).

mod account;
mod auth;
mod guard;
mod mail;
mod password;
mod permissions;
mod records;
mod sessions;
mod signin;
mod signing;
mod signup;
mod users;

use std::sync::Arc;

pub use auth::IdentityState;
use keel_function::{Function, Trigger};
pub use mail::Mailer;
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
        .routes(routes!(signup::register))
        .routes(routes!(signup::verify_email))
        .routes(routes!(signin::login))
        .routes(routes!(signin::choose))
        .routes(routes!(account::change_password))
        .routes(routes!(account::request_reset))
        .routes(routes!(account::confirm_reset))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::update_user))
        .routes(routes!(users::resend_invitation))
}

/// The identity API with a signing key given directly and mail sent through a client made from
/// the environment (tests, local tooling).
pub fn router(app: AppState, issuer: TokenIssuer) -> axum::Router {
    let mailer = Mailer::from_env().expect("KEEL_MAIL_FROM and KEEL_WEB_ORIGIN from the local stack");
    router_with(app, Signer::Fixed(Arc::new(issuer)), mailer)
}

/// The identity API. Only this context holds the token signing key. Its answers carry tokens and
/// people's details: no browser or proxy may keep them (`Cache-Control: no-store`).
pub fn router_with(app: AppState, signer: Signer, mailer: Mailer) -> axum::Router {
    let state = IdentityState { app, signer: Arc::new(signer), mailer: Arc::new(mailer) };
    routes().split_for_parts().0.with_state(state).layer(axum::middleware::map_response(
        |mut response: axum::response::Response| async move {
            response
                .headers_mut()
                .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            response
        },
    ))
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
                    Ok(router_with(runtime.app_state()?, signer, Mailer::new(runtime.ses())?))
                })
            },
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "secretsmanager:GetSecretValue",
            "ses:SendEmail",
        ],
        writes_events: false,
    }
}

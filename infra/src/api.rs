//! The dev server's router: every function's routes, merged the way API Gateway routes them.

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use keel_http::{with_edge, AppState};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};

use crate::health;

/// The whole API's OpenAPI document: the functions' paths plus the shared parts.
pub fn openapi() -> OpenApi {
    let mut doc = keel_leads::openapi();
    doc.merge(keel_dashboard::openapi());
    doc.merge(keel_integrations::openapi());
    doc.merge(keel_audit::openapi());
    doc.merge(keel_identity::openapi());
    doc.merge(keel_system::openapi());
    doc.info = InfoBuilder::new()
        .title("Keel CRM API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Multi-tenant lead-to-revenue CRM. Every path under /api/companies/{company_id} acts for the \
             company in the bearer token; errors are RFC 9457 problems.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    doc
}

/// Every function's routes on one router, as API Gateway routes them (without the edge layers).
pub fn functions(state: AppState, sqs: aws_sdk_sqs::Client, issuer: keel_http::TokenIssuer) -> Router {
    keel_leads::router(state.clone())
        .merge(keel_dashboard::router(state.clone()))
        .merge(keel_integrations::router(state.clone()))
        .merge(keel_audit::router(state.clone()))
        .merge(keel_identity::router(state.clone(), issuer))
        .merge(keel_system::router(state, sqs))
}

pub async fn app(web_dir: &str) -> Result<Router, String> {
    let state = AppState::from_env().await?;
    let tokens = keel_http::state::TokenSettings::from_env()?;
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    let api = functions(state.clone(), sqs, tokens.issuer()?)
        .route("/api/health", get(health::health).with_state(state.clone()))
        .route("/api/openapi.json", get(|| async { axum::Json(openapi()) }));
    let web = ServeDir::new(web_dir).fallback(ServeFile::new(format!("{web_dir}/index.html")));
    // /api/* goes to the API (where an unknown path is a problem+json 404), the rest is the UI.
    let api = with_edge(api);
    Ok(Router::new().fallback(move |req: Request| {
        let (api, web) = (api.clone(), web.clone());
        async move {
            let path = req.uri().path();
            if path == "/api" || path.starts_with("/api/") {
                api.oneshot(req).await.into_response()
            } else {
                web.oneshot(req).await.into_response()
            }
        }
    }))
}

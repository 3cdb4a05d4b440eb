//! The dev server's app: the API through the local gateway, the built web UI beside it.

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::Router;
use keel_function::Trigger;
use keel_store::RequestCounter;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};

use crate::{gateway, registry};

/// The whole API's OpenAPI document: every HTTP function's paths plus the shared parts.
pub fn openapi() -> OpenApi {
    let mut doc = OpenApi::default();
    for function in registry::functions() {
        if let Trigger::Http { openapi, .. } = function.trigger {
            doc.merge(openapi());
        }
    }
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

pub async fn app(web_dir: &str) -> Result<Router, String> {
    let api = gateway::gateway(RequestCounter::default()).await?;
    let web = ServeDir::new(web_dir).fallback(ServeFile::new(format!("{web_dir}/index.html")));
    // /api/* goes to the API (where an unknown path is a problem+json 404), the rest is the UI,
    // as CloudFront splits them in AWS.
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

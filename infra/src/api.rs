//! The dev server's app: the API through the local gateway, the built web UI beside it.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
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
    // Schemas are merged by name: two functions naming different shapes alike would have one
    // silently describe the other's answers (the fuzzer then finds it, far from the cause).
    let mut schemas: std::collections::BTreeMap<String, (&str, serde_json::Value)> = Default::default();
    for function in registry::functions() {
        if let Trigger::Http { openapi, .. } = function.trigger {
            let part = openapi();
            for (name, schema) in part.components.iter().flat_map(|c| c.schemas.iter()) {
                let shape = serde_json::to_value(schema).unwrap_or_default();
                match schemas.get(name) {
                    Some((owner, seen)) => assert!(
                        *seen == shape,
                        "schema {name} means one thing in {owner} and another in {}: rename one",
                        function.logical_id
                    ),
                    None => {
                        schemas.insert(name.clone(), (function.logical_id, shape));
                    }
                }
            }
            doc.merge(part);
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
    // The answers every operation shares (problems for tokens, paths, queries, bodies, limits),
    // derived from each operation's declaration in one place.
    keel_http::openapi::complete(&mut doc);
    doc
}

/// The dev server: /api/* through the local gateway, the rest the built UI, served as CloudFront
/// serves them: compressed (the build's .br / .gz beside each asset), hashed assets cached for a
/// year, `index.html` revalidated every time (so a deploy is picked up at once), and the
/// template's security headers (`KEEL_WEB_HEADERS`, read from its ResponseHeadersPolicy) on
/// everything.
pub async fn app(web_dir: &str) -> Result<Router, String> {
    let api = gateway::gateway(RequestCounter::default()).await?;
    let index = ServeFile::new(format!("{web_dir}/index.html")).precompressed_br().precompressed_gzip();
    let files = ServeDir::new(web_dir).precompressed_br().precompressed_gzip();
    let headers = security_headers()?;
    Ok(Router::new().fallback(move |req: Request| {
        let (api, index, files, headers) = (api.clone(), index.clone(), files.clone(), headers.clone());
        async move {
            let path = req.uri().path().to_string();
            let mut response = if path == "/_dev/mailbox" {
                crate::mailbox::page().await.into_response()
            } else if path == "/api" || path.starts_with("/api/") {
                api.oneshot(req).await.into_response()
            } else if path.rsplit('/').next().is_some_and(|last| last.contains('.')) {
                // A file: served as it is, or 404, never the app in its place (the deployed hosting
                // rewrites only paths without an extension to index.html).
                let mut response = files.oneshot(req).await.into_response();
                let cache = if path.starts_with("/assets/") && response.status().is_success() {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                };
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                response
            } else {
                let mut response = index.oneshot(req).await.into_response();
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                response
            };
            if path != "/_dev/mailbox" {
                for (name, value) in headers.iter() {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            response
        }
    }))
}

/// The security headers the deployed hosting adds, as the local stack read them from template.yaml.
fn security_headers() -> Result<std::sync::Arc<Vec<(HeaderName, HeaderValue)>>, String> {
    let raw = std::env::var("KEEL_WEB_HEADERS").unwrap_or_else(|_| "{}".into());
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&raw).map_err(|e| format!("KEEL_WEB_HEADERS: {e}"))?;
    map.into_iter()
        .map(|(k, v)| {
            let name = HeaderName::try_from(k.as_str()).map_err(|e| format!("KEEL_WEB_HEADERS {k}: {e}"))?;
            let value = HeaderValue::try_from(v.as_str()).map_err(|e| format!("KEEL_WEB_HEADERS {k}: {e}"))?;
            Ok((name, value))
        })
        .collect::<Result<Vec<_>, String>>()
        .map(std::sync::Arc::new)
}

#[cfg(test)]
mod tests {
    use keel_function::Trigger;
    use keel_http::openapi::{shared_answers, PROBLEM_JSON};
    use serde_json::Value;

    use crate::registry;

    /// Statuses a handler may declare beside the shared ones, for reasons of its own (a duplicate,
    /// a business rule); any other shared status is documented once, by `keel_http::openapi`.
    const OWN_REASONS: [u16; 2] = [409, 422];

    #[test]
    fn handlers_leave_the_shared_answers_to_the_edge() {
        for function in registry::functions() {
            let Trigger::Http { openapi, .. } = function.trigger else { continue };
            for (path, item) in openapi().paths.paths {
                for op in [item.get, item.put, item.post, item.delete, item.patch].into_iter().flatten() {
                    let shared = shared_answers(&op);
                    for status in op.responses.responses.keys().filter_map(|s| s.parse::<u16>().ok()) {
                        assert!(
                            !shared.contains_key(&status) || OWN_REASONS.contains(&status),
                            "{path}: the handler declares {status}, which keel_http::openapi already documents"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_answer_says_its_content() {
        let doc = serde_json::to_value(super::openapi()).unwrap();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    let what = format!("{method} {path} {status}");
                    let content = response["content"].as_object().cloned().unwrap_or_default();
                    let code: u16 = status.parse().unwrap();
                    match code {
                        // No content: nothing to say, or a redirect (a web form's thank-you page).
                        204 | 303 | 304 => assert!(content.is_empty(), "{what}"),
                        // JSON, plain text where a caller's protocol says so (WhatsApp's challenge), or
                        // a CSV to download (an import's report).
                        200..=299 => assert!(
                            ["application/json", "text/plain", "text/csv"]
                                .iter()
                                .any(|media| content.get(*media).is_some_and(|c| c["schema"].is_object())),
                            "{what}: no schema"
                        ),
                        // Health says why it is down in its own body.
                        503 if path == "/api/health" => assert!(content.contains_key("application/json"), "{what}"),
                        _ => {
                            let keys: Vec<&String> = content.keys().collect();
                            assert_eq!(keys, [PROBLEM_JSON], "{what}");
                            assert_eq!(
                                content[PROBLEM_JSON]["schema"]["$ref"],
                                Value::from("#/components/schemas/Problem"),
                                "{what}"
                            );
                        }
                    }
                    if matches!(code, 429 | 503) && path != "/api/health" {
                        assert!(response["headers"]["Retry-After"].is_object(), "{what}: no Retry-After");
                    }
                }
                if op.get("security").is_some() {
                    for status in ["401", "429", "503"] {
                        assert!(op["responses"].get(status).is_some(), "{method} {path}: no {status}");
                    }
                }
                if path.contains('{') {
                    assert!(op["responses"].get("404").is_some(), "{method} {path}: no 404");
                }
            }
        }
    }
}

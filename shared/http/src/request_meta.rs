//! Facts about the request that records need: its id (also in `x-request-id` and every log line)
//! and the caller's address: the viewer's, as CloudFront reports it, on requests that prove they
//! came through Keel's distribution; otherwise as API Gateway saw it (or the socket peer on the dev
//! server). Behind CloudFront, API Gateway sees only CloudFront's edge, and lock-outs and audit
//! records per address would lump strangers together.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use keel_store::audit::{AuditRecord, FieldChange};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;

use crate::TenantContext;

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub source_ip: String,
}

/// The header CloudFront adds to every API request it forwards, carrying the edge secret.
pub const EDGE_HEADER: &str = "x-keel-edge";
/// Where CloudFront reports the viewer's address (`ip:port`).
const VIEWER_ADDRESS: &str = "cloudfront-viewer-address";

/// `KEEL_EDGE_SECRET`, read once: set where the API is served through the web distribution.
pub fn edge_secret() -> Option<&'static str> {
    static SECRET: OnceLock<Option<String>> = OnceLock::new();
    SECRET.get_or_init(|| std::env::var("KEEL_EDGE_SECRET").ok().filter(|s| !s.is_empty())).as_deref()
}

/// Whether the request carries the edge secret (compared in constant time).
pub fn through_edge(headers: &axum::http::HeaderMap, secret: &str) -> bool {
    let given = headers.get(EDGE_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    given.len() == secret.len() && given.iter().zip(secret.as_bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The viewer's address CloudFront reports, when the request proves it came through CloudFront.
pub fn viewer_address(headers: &axum::http::HeaderMap, secret: Option<&str>) -> Option<String> {
    let secret = secret?;
    if !through_edge(headers, secret) {
        return None;
    }
    let raw = headers.get(VIEWER_ADDRESS)?.to_str().ok()?;
    // `203.0.113.7:443` or `2001:db8::1:443`: the port follows the last colon.
    let (ip, _port) = raw.rsplit_once(':')?;
    ip.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

impl RequestMeta {
    pub(crate) fn source_ip(req: &Request) -> String {
        if let Some(ip) = viewer_address(req.headers(), edge_secret()) {
            return ip;
        }
        if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions().request_context_ref() {
            if let Some(ip) = &ctx.http.source_ip {
                return ip.clone();
            }
        }
        if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
            return addr.ip().to_string();
        }
        "unknown".into()
    }

    /// An audit record of `action` on an entity by the caller of this request.
    pub fn audit(
        &self,
        ctx: &TenantContext,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        changes: Vec<FieldChange>,
    ) -> AuditRecord {
        AuditRecord {
            id: ulid::Ulid::new(),
            at: chrono::Utc::now(),
            actor_id: ctx.user_id.clone(),
            role: ctx.role.as_str().to_string(),
            action: action.to_string(),
            entity_type: entity_type.to_string(),
            entity_id: entity_id.to_string(),
            changes,
            request_id: self.request_id.clone(),
            source_ip: self.source_ip.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| RequestMeta { request_id: ulid::Ulid::new().to_string(), source_ip: "unknown".into() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(edge: Option<&str>, viewer: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(e) = edge {
            h.insert(EDGE_HEADER, HeaderValue::from_str(e).unwrap());
        }
        if let Some(v) = viewer {
            h.insert(VIEWER_ADDRESS, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_viewer_address_is_believed_only_through_the_edge() {
        let s = Some("s3cret-edge-value");
        assert_eq!(viewer_address(&headers(s, Some("203.0.113.7:443")), s).as_deref(), Some("203.0.113.7"));
        assert_eq!(viewer_address(&headers(s, Some("2001:db8::1:443")), s).as_deref(), Some("2001:db8::1"));
        // A caller writing the header itself, without (or with a wrong) edge secret, is not believed.
        assert_eq!(viewer_address(&headers(None, Some("203.0.113.7:443")), s), None);
        assert_eq!(viewer_address(&headers(Some("guess"), Some("203.0.113.7:443")), s), None);
        // No edge configured (local, or an API without the web distribution): never believed.
        assert_eq!(viewer_address(&headers(s, Some("203.0.113.7:443")), None), None);
        assert_eq!(viewer_address(&headers(s, Some("not an address")), s), None);
    }
}

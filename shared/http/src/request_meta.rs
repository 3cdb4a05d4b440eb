//! Facts about the request that records need: its id (also in `x-request-id` and every log line)
//! and the caller's address, as API Gateway saw it (or the socket peer on the dev server).

use std::net::SocketAddr;

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

impl RequestMeta {
    pub(crate) fn source_ip(req: &Request) -> String {
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

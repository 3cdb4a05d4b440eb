//! Bearer tokens → [`TenantContext`]. The tenant a request acts for comes from here and nowhere
//! else: never from a body, a query string or a path.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keel_store::rate_limit::{self, Verdict};
use keel_store::TenantKeys;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

/// The only algorithm accepted: a token naming another (`none`, RS256 with a confused key, …)
/// is refused before its signature is looked at.
const ALGORITHM: Algorithm = Algorithm::HS256;
/// Clock skew tolerated on `exp`/`nbf`.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    SalesRep,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::SalesRep => "sales_rep",
            Role::Viewer => "viewer",
        }
    }
}

/// What a Keel access token asserts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: String,
    /// The tenant (company) the user acts in.
    pub tid: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Who is calling, for which tenant, in which role. Only [`TokenVerifier`] makes one.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub user_id: String,
    pub role: Role,
    pub keys: TenantKeys,
}

impl TenantContext {
    /// The path's `{company_id}` must be the token's tenant; anything else is answered as if it
    /// did not exist, so tenants cannot even learn which company ids are real.
    pub fn company(&self, company_id: &str) -> Result<&TenantKeys, ApiError> {
        if company_id == self.tenant_id {
            Ok(&self.keys)
        } else {
            Err(ApiError::NotFound)
        }
    }
}

#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        TokenVerifier { key: DecodingKey::from_secret(secret), validation }
    }

    pub fn verify(&self, token: &str) -> Result<TenantContext, ApiError> {
        let data = decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthorized("The token has expired"),
                ErrorKind::ImmatureSignature => ApiError::Unauthorized("The token is not valid yet"),
                _ => ApiError::Unauthorized("The token is not valid"),
            }
        })?;
        let c = data.claims;
        if c.tid.is_empty() || c.sub.is_empty() {
            return Err(ApiError::Unauthorized("The token is not valid"));
        }
        Ok(TenantContext { keys: TenantKeys::new(&c.tid), tenant_id: c.tid, user_id: c.sub, role: c.role })
    }
}

/// Mints tokens with the same settings the verifier checks (local dev server and tests; the
/// identity function will issue real ones).
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        TokenIssuer { key: EncodingKey::from_secret(secret), issuer: issuer.into(), audience: audience.into() }
    }

    pub fn claims(&self, tenant_id: &str, user_id: &str, role: Role, ttl_seconds: i64) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            sub: user_id.into(),
            tid: tenant_id.into(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl_seconds,
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(ALGORITHM), claims, &self.key).expect("HS256 signing cannot fail")
    }

    pub fn token(&self, tenant_id: &str, user_id: &str, role: Role, ttl_seconds: i64) -> String {
        self.sign(&self.claims(tenant_id, user_id, role, ttl_seconds))
    }
}

impl<S> FromRequestParts<S> for TenantContext
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<TenantContext>() {
            return Ok(ctx.clone());
        }
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("A bearer token is required"))?
            .to_str()
            .map_err(|_| ApiError::Unauthorized("The token is not valid"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthorized("A bearer token is required"))?;
        let app = AppState::from_ref(state);
        let ctx = app.verifier.verify(token.trim())?;
        tracing::Span::current().record("tenant_id", ctx.tenant_id.as_str());
        match rate_limit::take(&app.db, &ctx.keys, &ctx.user_id, &app.limits, Utc::now()).await {
            Ok(Verdict::Allowed) => {}
            Ok(Verdict::Limited { retry_after }) => return Err(ApiError::RateLimited { retry_after }),
            // A limiter that cannot count must not take the API down with it.
            Err(e) => tracing::warn!(error = %e, "rate limit not checked"),
        }
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

/// Shared so every request does not clone the key material.
pub type SharedVerifier = Arc<TokenVerifier>;

//! Bearer tokens → [`TenantContext`]. The tenant a request acts for comes from here and nowhere
//! else: never from a body, a query string or a path.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use std::collections::HashMap;

use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keel_store::rate_limit::Verdict;
use keel_store::TenantKeys;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

/// The only algorithm accepted: a token naming another (`none`, HS256 signed with a public key,
/// …) is refused before its signature is looked at. Ed25519 keys are asymmetric: functions that
/// only verify never hold the signing key.
const ALGORITHM: Algorithm = Algorithm::EdDSA;
/// Clock skew tolerated on `exp`/`nbf`.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    SalesRep,
    Viewer,
    /// A platform operator: runs the service (queues, redrive, deployment), belongs to no company
    /// (its tokens name the reserved `_platform` tenant) and is created only by `keel-dev operator`
    /// with AWS credentials, never through sign-up or by a company's administrator.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::SalesRep => "sales_rep",
            Role::Viewer => "viewer",
            Role::Operator => "operator",
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
    /// Issue time in milliseconds: revocations (deactivation, role change) compare against it.
    #[serde(default)]
    pub iat_ms: i64,
    /// The sign-in this token belongs to: signing out or a detected theft ends it, and with it
    /// the token. Empty on tokens not made by a sign-in (local tooling).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
}

/// Who is calling, for which tenant, in which role. Only [`TokenVerifier`] makes one.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub user_id: String,
    pub role: Role,
    pub keys: TenantKeys,
    /// When the token was issued (ms); 0 for contexts not made from a token.
    pub issued_at_ms: i64,
    /// The sign-in the token belongs to (empty when none).
    pub session_id: String,
}

impl TenantContext {
    /// Someone acting without a token yet (signing up, signing in), for the audit trail.
    pub fn acting(tenant_id: &str, user_id: &str, role: Role) -> TenantContext {
        TenantContext {
            tenant_id: tenant_id.into(),
            user_id: user_id.into(),
            role,
            keys: TenantKeys::new(tenant_id),
            issued_at_ms: 0,
            session_id: String::new(),
        }
    }

    /// The path's `{company_id}` must be the token's tenant; anything else is answered as if it
    /// did not exist, so tenants cannot even learn which company ids are real.
    pub fn company(&self, company_id: &str) -> Result<&TenantKeys, ApiError> {
        // Reserved tenants (`_platform`, `_identity`, `_system`) are nobody's company.
        if company_id == self.tenant_id && !company_id.starts_with('_') {
            Ok(&self.keys)
        } else {
            Err(ApiError::NotFound)
        }
    }
}

/// Verifies access tokens against the public keys by key id (`kid`), so signing keys can rotate:
/// publish the new public key, start signing with it, retire the old one after the token lifetime.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    /// Tokens this process verified already (the whole token as key) with their expiry: a client
    /// sends the same token for its 15 minutes, and the signature check is most of a request's own
    /// work. Revocation is the standing check's business, made on every request either way.
    verified: Arc<Mutex<HashMap<String, (TenantContext, i64)>>>,
}

/// At most this many verified tokens are remembered per process.
const VERIFIED_TOKENS: usize = 10_000;

impl TokenVerifier {
    /// `public_keys`: key id → Ed25519 public key (SPKI PEM).
    pub fn new(public_keys: &HashMap<String, String>, issuer: &str, audience: &str) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for (kid, pem) in public_keys {
            let key = DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| format!("public key {kid}: {e}"))?;
            keys.insert(kid.clone(), key);
        }
        if keys.is_empty() {
            return Err("no token verification keys configured".into());
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Ok(TokenVerifier { keys, validation, verified: Arc::default() })
    }

    pub fn verify(&self, token: &str) -> Result<TenantContext, ApiError> {
        let now = Utc::now().timestamp();
        if let Some((ctx, exp)) = self.verified.lock().unwrap_or_else(|p| p.into_inner()).get(token) {
            if now <= exp + LEEWAY_SECONDS as i64 {
                return Ok(ctx.clone());
            }
        }
        let (ctx, exp) = self.verify_signed(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= VERIFIED_TOKENS {
            verified.retain(|_, (_, e)| now <= *e + LEEWAY_SECONDS as i64);
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
        }
        verified.insert(token.to_string(), (ctx.clone(), exp));
        Ok(ctx)
    }

    /// The full check: algorithm, key id, signature, issuer, audience, times and claims.
    fn verify_signed(&self, token: &str) -> Result<(TenantContext, i64), ApiError> {
        let invalid = || ApiError::Unauthorized("The token is not valid");
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != ALGORITHM {
            return Err(invalid());
        }
        let key = header.kid.as_ref().and_then(|kid| self.keys.get(kid)).ok_or_else(invalid)?;
        let data = decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthorized("The token has expired"),
                ErrorKind::ImmatureSignature => ApiError::Unauthorized("The token is not valid yet"),
                _ => invalid(),
            }
        })?;
        let c = data.claims;
        if c.tid.is_empty() || c.sub.is_empty() {
            return Err(invalid());
        }
        // Operators belong to the platform and the platform has only operators: a token that mixes
        // the two (whatever minted it) speaks for nobody.
        if (c.role == Role::Operator) != (c.tid == keel_store::PLATFORM_TENANT) {
            return Err(invalid());
        }
        let exp = c.exp;
        let ctx = TenantContext {
            keys: TenantKeys::new(&c.tid),
            tenant_id: c.tid,
            user_id: c.sub,
            role: c.role,
            issued_at_ms: if c.iat_ms > 0 { c.iat_ms } else { c.iat * 1000 },
            session_id: c.sid,
        };
        Ok((ctx, exp))
    }
}

/// Signs access tokens (the identity context; locally also the dev server and tests).
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    kid: String,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    /// `signing_key`: Ed25519 private key (PKCS#8 PEM) published under `kid`.
    pub fn new(signing_key: &[u8], kid: &str, issuer: &str, audience: &str) -> Result<Self, String> {
        let key = EncodingKey::from_ed_pem(signing_key).map_err(|e| format!("signing key: {e}"))?;
        Ok(TokenIssuer { key, kid: kid.into(), issuer: issuer.into(), audience: audience.into() })
    }

    pub fn claims(&self, tenant_id: &str, user_id: &str, role: Role, ttl_seconds: i64) -> Claims {
        let now_ms = Utc::now().timestamp_millis();
        let now = now_ms / 1000;
        Claims {
            iat_ms: now_ms,
            sub: user_id.into(),
            tid: tenant_id.into(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl_seconds,
            sid: String::new(),
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.key).expect("Ed25519 signing cannot fail")
    }

    pub fn token(&self, tenant_id: &str, user_id: &str, role: Role, ttl_seconds: i64) -> String {
        self.sign(&self.claims(tenant_id, user_id, role, ttl_seconds))
    }

    /// A token of the sign-in `session_id`: it stops working when that sign-in ends.
    pub fn session_token(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: Role,
        ttl_seconds: i64,
        session_id: &str,
    ) -> String {
        let mut claims = self.claims(tenant_id, user_id, role, ttl_seconds);
        claims.sid = session_id.into();
        self.sign(&claims)
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
        match app.revocations.token_valid(&app.db, &ctx).await {
            Ok(true) => {}
            Ok(false) => return Err(ApiError::Unauthorized("The session has ended")),
            Err(e) => return Err(e.into()),
        }
        // Decided in the process; the counts reach the table in the background (and without it,
        // the instance holds to its share of the limits rather than admitting everything).
        if let Verdict::Limited { retry_after, .. } = app.limiter.admit(&ctx.keys, &ctx.user_id, Utc::now()) {
            return Err(ApiError::RateLimited { retry_after });
        }
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

/// Shared so every request does not clone the key material.
pub type SharedVerifier = Arc<TokenVerifier>;

/// The path's company, checked against the token before anything else of the request is read:
/// a handler that takes a body puts this before the body, so another company's caller gets 404
/// whatever they send.
#[derive(Debug, Clone)]
pub struct CompanyScope(pub TenantContext);

impl<S> FromRequestParts<S> for CompanyScope
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = TenantContext::from_request_parts(parts, state).await?;
        let params =
            axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        let company = params.iter().find(|(name, _)| *name == "company_id").map(|(_, v)| v.to_string());
        match company {
            Some(c) if ctx.company(&c).is_ok() => Ok(CompanyScope(ctx)),
            _ => Err(ApiError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032's first test public key, as SPKI PEM.
    const PUBLIC_KEY: &str =
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(&HashMap::from([("k1".to_string(), PUBLIC_KEY.to_string())]), "iss", "aud").unwrap()
    }

    fn context() -> TenantContext {
        TenantContext {
            tenant_id: "t".into(),
            user_id: "u".into(),
            role: Role::Viewer,
            keys: TenantKeys::new("t"),
            issued_at_ms: 0,
            session_id: String::new(),
        }
    }

    #[test]
    fn a_remembered_token_is_trusted_only_until_it_expires() {
        let v = verifier();
        let now = Utc::now().timestamp();
        v.verified.lock().unwrap().insert("remembered".into(), (context(), now + 60));
        assert_eq!(v.verify("remembered").unwrap().user_id, "u", "verified before: no second signature check");
        v.verified.lock().unwrap().insert("expired".into(), (context(), now - LEEWAY_SECONDS as i64 - 1));
        assert!(v.verify("expired").is_err(), "past its expiry the token is checked in full again (and refused)");
        assert!(v.verify("never-seen").is_err());
    }
}

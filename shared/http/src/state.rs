use std::collections::HashMap;
use std::sync::Arc;

use keel_store::rate_limit::{Limits, RateLimiter};
use keel_store::{CursorSigner, Db};

use crate::auth::{SharedVerifier, TokenIssuer, TokenVerifier};
use crate::revocation::Revocations;

/// What every function's router needs: the table and the token verifier, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: SharedVerifier,
    pub cursors: CursorSigner,
    /// This process's request counts per tenant and user (one per Lambda instance), synced with
    /// the table in the background.
    pub limiter: RateLimiter,
    pub revocations: Arc<Revocations>,
}

/// Token and cursor settings from the environment (template.yaml Globals; the local stack
/// exports the same names with keys it generates).
#[derive(Clone)]
pub struct TokenSettings {
    /// key id → Ed25519 public key (SPKI PEM), from `KEEL_JWT_PUBLIC_KEYS` (a JSON object).
    pub public_keys: HashMap<String, String>,
    pub issuer: String,
    pub audience: String,
    /// Signs pagination cursors (`KEEL_CURSOR_SECRET`, ≥ 32 characters).
    pub cursor_secret: Vec<u8>,
}

impl TokenSettings {
    pub fn from_env() -> Result<TokenSettings, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let public_keys: HashMap<String, String> = serde_json::from_str(&var("KEEL_JWT_PUBLIC_KEYS")?)
            .map_err(|e| format!("KEEL_JWT_PUBLIC_KEYS must be a JSON object of kid -> PEM: {e}"))?;
        let cursor_secret = var("KEEL_CURSOR_SECRET")?;
        if cursor_secret.len() < 32 {
            return Err("KEEL_CURSOR_SECRET must be at least 32 characters".into());
        }
        Ok(TokenSettings {
            public_keys,
            issuer: var("KEEL_JWT_ISSUER")?,
            audience: var("KEEL_JWT_AUDIENCE")?,
            cursor_secret: cursor_secret.into_bytes(),
        })
    }

    /// The signer, for the processes that hold the private key (`KEEL_JWT_SIGNING_KEY`,
    /// `KEEL_JWT_SIGNING_KID`).
    pub fn issuer(&self) -> Result<TokenIssuer, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        TokenIssuer::new(
            var("KEEL_JWT_SIGNING_KEY")?.as_bytes(),
            &var("KEEL_JWT_SIGNING_KID")?,
            &self.issuer,
            &self.audience,
        )
    }
}

impl AppState {
    pub fn new(db: Db, tokens: &TokenSettings) -> Result<AppState, String> {
        Ok(AppState {
            limiter: RateLimiter::new(db.clone(), Limits::from_env()),
            db,
            verifier: Arc::new(TokenVerifier::new(&tokens.public_keys, &tokens.issuer, &tokens.audience)?),
            cursors: CursorSigner::new(&tokens.cursor_secret),
            revocations: Arc::new(Revocations::default()),
        })
    }

    pub async fn from_env() -> Result<AppState, String> {
        let tokens = TokenSettings::from_env()?;
        AppState::new(Db::from_env().await?, &tokens)
    }
}

use std::collections::HashMap;
use std::sync::Arc;

use keel_store::rate_limit::{Limits, RateLimiter};
use keel_store::Db;

use crate::auth::{SharedVerifier, TokenIssuer, TokenVerifier};
use crate::page::CursorKeys;
use crate::revocation::Revocations;
use crate::secrets::{CachedSecret, SECRET_TTL};
use crate::settings::Settings;

/// What every function's router needs: the table and the token verifier, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: SharedVerifier,
    pub cursors: Arc<CursorKeys>,
    /// This process's request counts per tenant and user (one per Lambda instance), synced with
    /// the table in the background.
    pub limiter: RateLimiter,
    pub revocations: Arc<Revocations>,
    pub settings: Arc<Settings>,
}

/// Token and cursor settings from the environment (template.yaml Globals; the local stack
/// exports the same names with keys it generates).
#[derive(Clone)]
pub struct TokenSettings {
    /// key id → Ed25519 public key (SPKI PEM), from `KEEL_JWT_PUBLIC_KEYS` (a JSON object).
    pub public_keys: HashMap<String, String>,
    pub issuer: String,
    pub audience: String,
    /// Where the key that signs pagination cursors comes from.
    pub cursor_secret: SecretSetting,
}

/// A secret's place: Secrets Manager (`…_SECRET_ID`, read at run time and cached), or a value in
/// the environment (local tooling), or nowhere (a function that does not need it).
#[derive(Clone, Debug)]
pub enum SecretSetting {
    SecretsManager(String),
    Value(String),
    Absent,
}

impl SecretSetting {
    /// `<name>_ID` (a Secrets Manager id) or `<name>` (the value itself).
    pub fn from_env(name: &str) -> SecretSetting {
        match (std::env::var(format!("{name}_ID")), std::env::var(name)) {
            (Ok(id), _) if !id.is_empty() => SecretSetting::SecretsManager(id),
            (_, Ok(value)) if !value.is_empty() => SecretSetting::Value(value),
            _ => SecretSetting::Absent,
        }
    }

    /// The cached secret, reading Secrets Manager through `client` (made on first use if `None`).
    pub fn cached(&self, client: Option<aws_sdk_secretsmanager::Client>) -> Option<CachedSecret> {
        match self {
            SecretSetting::SecretsManager(id) => Some(CachedSecret::secrets_manager(client, id.clone(), SECRET_TTL)),
            SecretSetting::Value(v) => Some(CachedSecret::fixed(serde_json::json!({ "key": v }).to_string())),
            SecretSetting::Absent => None,
        }
    }
}

impl TokenSettings {
    pub fn from_env() -> Result<TokenSettings, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let public_keys: HashMap<String, String> = serde_json::from_str(&var("KEEL_JWT_PUBLIC_KEYS")?)
            .map_err(|e| format!("KEEL_JWT_PUBLIC_KEYS must be a JSON object of kid -> PEM: {e}"))?;
        let cursor_secret = SecretSetting::from_env("KEEL_CURSOR_SECRET");
        if matches!(&cursor_secret, SecretSetting::Value(v) if v.len() < 32) {
            return Err("KEEL_CURSOR_SECRET must be at least 32 characters".into());
        }
        Ok(TokenSettings {
            public_keys,
            issuer: var("KEEL_JWT_ISSUER")?,
            audience: var("KEEL_JWT_AUDIENCE")?,
            cursor_secret,
        })
    }

    /// A signer from `KEEL_JWT_SIGNING_KEY` / `KEEL_JWT_SIGNING_KID` in the environment: local
    /// tooling only (tests, `keel-dev token`); the identity function reads its key from Secrets
    /// Manager (`KEEL_JWT_SECRET_ID`).
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
            cursors: Arc::new(CursorKeys::new(tokens.cursor_secret.cached(None))),
            revocations: Arc::new(Revocations::default()),
            settings: Arc::new(Settings::from_env()?),
        })
    }

    pub async fn from_env() -> Result<AppState, String> {
        let tokens = TokenSettings::from_env()?;
        AppState::new(Db::from_env().await?, &tokens)
    }
}

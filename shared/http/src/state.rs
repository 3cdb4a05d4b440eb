use std::sync::Arc;

use keel_store::rate_limit::Limits;
use keel_store::{CursorSigner, Db};

use crate::auth::{SharedVerifier, TokenIssuer, TokenVerifier};

/// What every function's router needs: the table and the token verifier, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: SharedVerifier,
    pub cursors: CursorSigner,
    pub limits: Limits,
}

/// Token settings from the environment (template.yaml Globals; the local stack exports the same).
#[derive(Clone)]
pub struct TokenSettings {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
}

impl TokenSettings {
    pub fn from_env() -> Result<TokenSettings, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let secret = var("KEEL_JWT_SECRET")?;
        if secret.len() < 32 {
            return Err("KEEL_JWT_SECRET must be at least 32 characters".into());
        }
        Ok(TokenSettings {
            secret: secret.into_bytes(),
            issuer: var("KEEL_JWT_ISSUER")?,
            audience: var("KEEL_JWT_AUDIENCE")?,
        })
    }

    pub fn issuer(&self) -> TokenIssuer {
        TokenIssuer::new(&self.secret, &self.issuer, &self.audience)
    }
}

impl AppState {
    pub fn new(db: Db, tokens: &TokenSettings) -> AppState {
        // Cursors are signed with a key derived from the token secret, labelled so the two uses
        // can never be confused.
        let cursor_key = [b"keel-cursor-v1:".as_slice(), &tokens.secret].concat();
        AppState {
            db,
            verifier: Arc::new(TokenVerifier::new(&tokens.secret, &tokens.issuer, &tokens.audience)),
            cursors: CursorSigner::new(&cursor_key),
            limits: Limits::from_env(),
        }
    }

    pub async fn from_env() -> Result<AppState, String> {
        let tokens = TokenSettings::from_env()?;
        Ok(AppState::new(Db::from_env().await?, &tokens))
    }
}

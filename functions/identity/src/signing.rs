//! The token signing key, read at run time from Secrets Manager (`KEEL_JWT_SECRET_ID`: JSON
//! `signing_key` + `kid`) and cached: a rotation (`scripts/bootstrap-stage.sh --rotate`, then
//! `--promote` once verifiers know the new public key) reaches every instance within the cache
//! lifetime, with no redeploy; the key never sits in the function's environment.

use std::sync::{Arc, Mutex};

use keel_http::secrets::CachedSecret;
use keel_http::{ApiError, TokenIssuer};

pub enum Signer {
    /// A key given directly (tests, local tooling).
    Fixed(Arc<TokenIssuer>),
    Secret {
        secret: Box<CachedSecret>,
        issuer: String,
        audience: String,
        /// The issuer made from the secret's current text, reused while the text is the same.
        built: Mutex<Option<(String, Arc<TokenIssuer>)>>,
    },
}

impl Signer {
    pub fn secret(secret: CachedSecret, issuer: &str, audience: &str) -> Signer {
        Signer::Secret {
            secret: Box::new(secret),
            issuer: issuer.into(),
            audience: audience.into(),
            built: Mutex::new(None),
        }
    }

    pub async fn issuer(&self) -> Result<Arc<TokenIssuer>, ApiError> {
        let (secret, issuer, audience, built) = match self {
            Signer::Fixed(i) => return Ok(i.clone()),
            Signer::Secret { secret, issuer, audience, built } => (secret, issuer, audience, built),
        };
        let versions = secret.get().await.map_err(ApiError::Unavailable)?;
        if let Some((text, made)) = built.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if *text == versions.current {
                return Ok(made.clone());
            }
        }
        let (key, _) = versions.field("signing_key").map_err(ApiError::Internal)?;
        let (kid, _) = versions.field("kid").map_err(ApiError::Internal)?;
        let made = Arc::new(TokenIssuer::new(key.as_bytes(), &kid, issuer, audience).map_err(ApiError::Internal)?);
        *built.lock().unwrap_or_else(|p| p.into_inner()) = Some((versions.current.clone(), made.clone()));
        Ok(made)
    }
}

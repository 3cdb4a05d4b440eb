//! Secrets read at run time from Secrets Manager, by the functions that use them and only those
//! (each function's IAM policy names its secrets): never in the Lambda's environment, where anyone
//! who may read the function's configuration would see them. A process keeps what it read for
//! [`SECRET_TTL`], so a rotation (a new `AWSCURRENT` version) reaches every instance within that time
//! without a redeploy; the version it replaced stays readable as `AWSPREVIOUS` for verifying what
//! was signed with it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::Client;

/// How long a process trusts what it read.
pub const SECRET_TTL: Duration = Duration::from_secs(300);

/// A secret's current value and the one before it (JSON text, as stored).
#[derive(Debug, PartialEq, Eq)]
pub struct SecretVersions {
    pub current: String,
    pub previous: Option<String>,
}

impl SecretVersions {
    /// A string field of the current and previous JSON values.
    pub fn field(&self, name: &str) -> Result<(String, Option<String>), String> {
        let read = |text: &str| -> Result<String, String> {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|_| "the secret is not JSON".to_string())?;
            value[name].as_str().map(str::to_string).ok_or_else(|| format!("the secret has no `{name}`"))
        };
        Ok((read(&self.current)?, self.previous.as_deref().map(read).transpose()?))
    }
}

enum Source {
    /// Given directly (the local stack's tooling, tests that build their own state).
    Fixed(Arc<SecretVersions>),
    /// The client is made on first use when none was given (it needs the loaded AWS configuration).
    SecretsManager { client: tokio::sync::OnceCell<Client>, id: String },
}

/// One secret, cached per process.
pub struct CachedSecret {
    source: Source,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Arc<SecretVersions>)>>,
}

impl CachedSecret {
    pub fn fixed(current: String) -> CachedSecret {
        CachedSecret {
            source: Source::Fixed(Arc::new(SecretVersions { current, previous: None })),
            ttl: SECRET_TTL,
            cached: Mutex::new(None),
        }
    }

    pub fn secrets_manager(client: Option<Client>, id: String, ttl: Duration) -> CachedSecret {
        let client = tokio::sync::OnceCell::new_with(client);
        CachedSecret { source: Source::SecretsManager { client, id }, ttl, cached: Mutex::new(None) }
    }

    pub async fn get(&self) -> Result<Arc<SecretVersions>, String> {
        let (client, id) = match &self.source {
            Source::Fixed(v) => return Ok(v.clone()),
            Source::SecretsManager { client, id } => {
                (client.get_or_init(|| async { Client::new(&keel_store::aws::sdk_config().await) }).await, id)
            }
        };
        if let Some((at, v)) = self.cached.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(v.clone());
            }
        }
        let (current, previous) = tokio::join!(version(client, id, "AWSCURRENT"), version(client, id, "AWSPREVIOUS"));
        let current = current?.ok_or_else(|| format!("secret {id} has no current version"))?;
        let fresh = Arc::new(SecretVersions { current, previous: previous? });
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

/// One version of a secret by its stage label; `None` when no version has that label.
async fn version(client: &Client, id: &str, stage: &str) -> Result<Option<String>, String> {
    match client.get_secret_value().secret_id(id).version_stage(stage).send().await {
        Ok(out) => Ok(out.secret_string),
        Err(e) if matches!(e.as_service_error(), Some(GetSecretValueError::ResourceNotFoundException(_))) => Ok(None),
        // The text names the secret, never its value.
        Err(e) => Err(format!("secret {id} ({stage}): {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e))),
    }
}

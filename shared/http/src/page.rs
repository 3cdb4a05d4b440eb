//! One shape for every cursor-paged listing: `Page<T>` with an opaque `next_cursor` that is signed
//! and bound to the tenant, the listing and its filter (serialised from the filter's own struct),
//! so a cursor continues only the query it came from.

use std::collections::HashMap;

use keel_store::{AttributeValue, CursorSigner, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secrets::CachedSecret;
use crate::ApiError;

/// The keys that sign cursors: the current one, and the one before the last rotation (so cursors
/// handed out before it keep working).
pub struct CursorKeys {
    secret: Option<CachedSecret>,
}

impl CursorKeys {
    pub fn new(secret: Option<CachedSecret>) -> CursorKeys {
        CursorKeys { secret }
    }

    pub async fn signer(&self) -> Result<CursorSigner, ApiError> {
        let secret = self.secret.as_ref().ok_or_else(|| ApiError::Internal("no cursor secret is configured".into()))?;
        let versions = secret.get().await.map_err(ApiError::Unavailable)?;
        let (current, previous) = versions.field("key").map_err(ApiError::Internal)?;
        if current.len() < 32 {
            return Err(ApiError::Internal("the cursor secret is shorter than 32 characters".into()));
        }
        Ok(CursorSigner::with_previous(current.as_bytes(), previous.as_deref().map(str::as_bytes)))
    }
}

/// A page of a listing. Filtered pages may hold fewer than `limit` items: keep following
/// `next_cursor` until it is null.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// A listing's cursor binding: the tenant, the listing's name and its filter.
pub struct Pager<'a> {
    signer: &'a CursorSigner,
    binding: String,
}

impl<'a> Pager<'a> {
    pub fn new(signer: &'a CursorSigner, keys: &TenantKeys, listing: &str, filter: &impl Serialize) -> Pager<'a> {
        let filter = serde_json::to_string(filter).unwrap_or_default();
        Pager { signer, binding: format!("{}{listing}?{filter}", keys.tenant_prefix()) }
    }

    /// Where the page starts: the `cursor` parameter decoded, or the beginning.
    pub fn start(&self, cursor: Option<&str>) -> Result<Option<HashMap<String, AttributeValue>>, ApiError> {
        match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => {
                self.signer.decode(&self.binding, c).map(Some).map_err(|e| ApiError::field("cursor", e.to_string()))
            }
        }
    }

    /// The page, with a cursor to DynamoDB's `LastEvaluatedKey` when there may be more.
    pub fn page<T>(&self, items: Vec<T>, last: Option<HashMap<String, AttributeValue>>) -> Page<T> {
        Page { items, next_cursor: last.map(|k| self.signer.encode(&self.binding, &k)) }
    }
}

//! Path parameters, read the same way everywhere: [`ApiPath`] is axum's `Path` answering problems
//! instead of axum's plain-text rejections, and [`Id`] is the one rule for what an id in a path can
//! look like. A path whose parameter no record can have (not an id, too long, not UTF-8) names
//! nothing: it is a 404 whose `errors` names the parameter, and it never reaches a key (DynamoDB
//! refuses keys over 2 KB with an error that would otherwise become a 500).

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::ApiError;

/// Longest id accepted anywhere (Keel mints 26-character ULIDs).
pub const MAX_ID_LEN: usize = 64;

/// Whether `raw` can be an id: 1-64 ASCII letters, digits, `-` or `_`.
pub fn is_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_ID_LEN
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A record id from a path, which Keel mints as a ULID: anything else cannot name a record, so it is
/// a 404 before any read.
pub fn record_id(raw: &str) -> Result<&str, ApiError> {
    ulid::Ulid::from_string(raw).map(|_| raw).map_err(|_| ApiError::NotFound)
}

/// What a client is told when a value cannot be an id.
pub const ID_RULE: &str = "is not an id (1-64 letters, digits, '-' or '_')";

/// An id from a path or a query: see [`is_id`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Id(String);

impl Id {
    pub fn parse(raw: &str) -> Option<Id> {
        is_id(raw).then(|| Id(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Refused inside the visitor, so axum's path deserializer names the parameter.
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id")
            }
            fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<Id, E> {
                Id::parse(raw).ok_or_else(|| E::custom(ID_RULE))
            }
        }
        d.deserialize_str(IdVisitor)
    }
}

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_ID_LEN))
            .pattern(Some("^[A-Za-z0-9_-]{1,64}$"))
            .description(Some("An id: 1-64 letters, digits, `-` or `_` (Keel mints ULIDs)."))
            .examples(["01JD7Z3K8Q6W9X2Y4B5C6D7E8F"])
            .into()
    }
}

impl ToSchema for Id {}

/// axum's `Path`, answering problems: a parameter that cannot be read (not UTF-8, not of its
/// type, not an [`Id`]) is a 404 naming it, since an address that cannot name a record names none.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => match e.into_kind() {
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::InvalidUtf8InPathParam { key }
                | ErrorKind::DeserializeError { key, .. } => Err(ApiError::NoSuchId(key)),
                _ => Err(ApiError::NotFound),
            },
            Err(_) => Err(ApiError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_plain() {
        for ok in ["01JD7Z3K8Q6W9X2Y4B5C6D7E8F", "rep-1", "a_b", &"x".repeat(64)] {
            assert!(is_id(ok), "{ok}");
        }
        for bad in ["", "a b", "../x", "é", "a%2Fb", &"x".repeat(65), &"A".repeat(5000)] {
            assert!(!is_id(bad), "{bad}");
            assert!(serde_json::from_value::<Id>(serde_json::json!(bad)).is_err());
        }
    }
}

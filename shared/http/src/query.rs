//! Strict query strings: unknown parameters are refused by name, like unknown body fields.

use serde::de::DeserializeOwned;

use crate::ApiError;

/// Parses a raw query string into `T` (which should `deny_unknown_fields`).
pub fn parse_query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or_default()).map_err(|e| {
        let message = e.to_string();
        match message.split('`').nth(1) {
            Some(field) if message.starts_with("unknown field") => ApiError::field(field, "is not a known parameter"),
            Some(field) => ApiError::field(field, "has an invalid value"),
            None => ApiError::field("query", "has an invalid value (numbers must be whole numbers)"),
        }
    })
}

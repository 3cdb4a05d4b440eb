//! Strict query strings: unknown parameters are refused by name, like unknown body fields, and
//! the values listings share (ids, limits, time ranges, ids Keel minted) are checked here, once,
//! each failure named after its parameter. A value that passes can go into a key or a key
//! condition as it is: it is short enough for a key, and a range never runs backwards.

use chrono::{DateTime, Utc};
use keel_core::FieldErrors;
use serde::de::DeserializeOwned;

use crate::path::{is_id, ID_RULE};
use crate::ApiError;

/// How far ahead of this clock an id minted on another instance may be.
const CLOCK_LEEWAY_MS: u64 = 60_000;

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

/// The value trimmed; empty means absent.
pub fn text(raw: &Option<String>) -> Option<String> {
    raw.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// An id filter (see [`crate::path::Id`]).
pub fn id(errors: &mut FieldErrors, field: &str, raw: &Option<String>) -> Option<String> {
    let value = text(raw)?;
    if is_id(&value) {
        Some(value)
    } else {
        errors.add(field, ID_RULE);
        None
    }
}

/// A page size: `default` when absent, else 1..=`max`.
pub fn limit(errors: &mut FieldErrors, raw: Option<u32>, default: u32, max: u32) -> u32 {
    let limit = raw.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        errors.add("limit", format!("must be between 1 and {max}"));
    }
    limit
}

/// An id Keel minted (a ULID: events, leads): well-formed and not from the future, since an id
/// is minted when its record is made.
pub fn minted_ulid(
    errors: &mut FieldErrors,
    field: &str,
    raw: &Option<String>,
    now: DateTime<Utc>,
) -> Option<ulid::Ulid> {
    let value = text(raw)?;
    let latest = (now.timestamp_millis().max(0) as u64).saturating_add(CLOCK_LEEWAY_MS);
    match ulid::Ulid::from_string(&value) {
        Ok(id) if id.timestamp_ms() <= latest => Some(id),
        Ok(_) => {
            errors.add(field, "is not an id Keel minted: its time is in the future");
            None
        }
        Err(_) => {
            errors.add(field, "must be an id like 01JD7Z3K8Q6W9X2Y4B5C6D7E8F");
            None
        }
    }
}

fn time(errors: &mut FieldErrors, field: &str, raw: &Option<String>) -> Option<DateTime<Utc>> {
    let value = text(raw)?;
    match DateTime::parse_from_rfc3339(&value) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errors.add(field, "must be an RFC 3339 time like 2026-11-25T14:00:00Z");
            None
        }
    }
}

/// An inclusive time range from two RFC 3339 parameters, `(name, value)` each; the start may not
/// be after the end.
pub fn time_range(
    errors: &mut FieldErrors,
    (from_field, from): (&str, &Option<String>),
    (to_field, to): (&str, &Option<String>),
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let (from, to) = (time(errors, from_field, from), time(errors, to_field, to));
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            errors.add(from_field, format!("must not be after `{to_field}`"));
        }
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn fields(errors: &FieldErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn names_the_parameter_at_fault() {
        let now = Utc::now();
        let mut e = FieldErrors::default();
        assert!(minted_ulid(&mut e, "after", &some("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), now).is_none());
        assert!(minted_ulid(&mut e, "after", &some(&ulid::Ulid::new().to_string()), now).is_some());
        assert!(minted_ulid(&mut e, "cursor", &some("nope"), now).is_none());
        time_range(&mut e, ("from", &some("2026-01-02T00:00:00Z")), ("to", &some("2026-01-01T00:00:00Z")));
        time_range(&mut e, ("from", &some("2026-01-01T00:00:00Z")), ("to", &some("2026-01-01T00:00:00Z")));
        assert!(id(&mut e, "actor_id", &some(&"u".repeat(5000))).is_none());
        assert_eq!(id(&mut e, "actor_id", &some(" rep-1 ")).as_deref(), Some("rep-1"));
        assert_eq!(limit(&mut e, Some(0), 50, 200), 0);
        assert_eq!(fields(&e), ["after", "cursor", "from", "actor_id", "limit"]);
    }
}

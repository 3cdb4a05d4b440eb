//! Strict JSON bodies: application/json only, 256 KB at most, unknown fields refused, and every
//! failure named precisely (which field, what was wrong) without echoing the input back.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 256 * 1024;

pub struct ApiJson<T> {
    pub value: T,
    /// The raw body, for fingerprinting idempotent requests.
    pub raw: Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let RawBody(raw) = RawBody::from_request(req, state).await?;
        let value = parse(&raw)?;
        Ok(ApiJson { value, raw })
    }
}

/// The request body as bytes, for paths that read it themselves (a form post, a signed webhook):
/// over the edge's limit it is the same problem as for JSON, not axum's plain-text answer.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                {
                    const _: () = assert!(BODY_LIMIT == 256 * 1024, "say the new limit here");
                    ApiError::TooLarge("256 KB")
                }
            } else {
                ApiError::Malformed("The request body could not be read.".into())
            }
        })
    }
}

pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(raw);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        // One document and nothing after it: trailing text or a second document would go unread
        // (and unchecked for unknown fields).
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(ApiError::Malformed(format!(
                "The body has text after its JSON document (line {}, column {}).",
                e.line(),
                e.column()
            ))),
        },
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = inner.to_string();
                    let (field, text) = describe(&path, &message);
                    Err(ApiError::field(&field, text))
                }
                _ => Err(ApiError::Malformed(format!(
                    "The body is not valid JSON (line {}, column {}).",
                    inner.line(),
                    inner.column()
                ))),
            }
        }
    }
}

/// Turns serde's message into a field name and a sentence that does not echo the input.
/// serde's name for what it expected, in JSON's words: the code's type names (`struct NewAccount
/// with 8 elements`, `i64`) say nothing to a client and something about the code.
fn plain_type(expected: &str) -> &str {
    let e = expected.trim();
    if e.starts_with("struct ") || e.starts_with("a map") || e.starts_with("map") {
        "an object"
    } else if e.starts_with("a sequence") || e.starts_with("sequence") || e.starts_with("tuple") {
        "an array"
    } else if ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize"].contains(&e)
        || e.starts_with("an integer")
    {
        "a whole number"
    } else if e == "f32" || e == "f64" || e.starts_with("a number") {
        "a number"
    } else if e.starts_with("a boolean") || e == "bool" {
        "true or false"
    } else if e.starts_with("a string") || e.starts_with("a borrowed string") || e.starts_with("a formatted") {
        "a string"
    } else if e.starts_with("variant identifier") || e.starts_with("one of") {
        e
    } else {
        "another type"
    }
}

fn describe(path: &str, message: &str) -> (String, String) {
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    let prefix = if path == "." || path.is_empty() { String::new() } else { format!("{path}.") };
    if message.starts_with("unknown field") {
        // serde_path_to_error already ends the path with the unknown name.
        let name = quoted(message).unwrap_or_default();
        let field = if path.ends_with(&name) { path.to_string() } else { format!("{prefix}{name}") };
        return (field, "is not a known field".into());
    }
    if message.starts_with("missing field") {
        let name = quoted(message).unwrap_or_default();
        return (format!("{prefix}{name}"), "is required".into());
    }
    let field = if path == "." || path.is_empty() { "body".to_string() } else { path.to_string() };
    let text = match message.split_once(", expected ") {
        Some((_, expected)) => {
            let expected = expected.split(" at line ").next().unwrap_or(expected);
            format!("has the wrong type: expected {}", plain_type(expected))
        }
        None => "has an invalid value".into(),
    };
    (field, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        count: Option<u32>,
    }

    fn field_of(raw: &str) -> String {
        match parse::<Body>(raw.as_bytes()) {
            Err(ApiError::Validation(e)) => e.0[0].field.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(field_of(r#"{"nmae": "x"}"#), "nmae");
        assert_eq!(field_of(r#"{"count": "many"}"#), "count");
        assert!(matches!(parse::<Body>(b"{\"name\": "), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Body>(b"[1,2]"), Err(ApiError::Validation(_))));
    }

    #[test]
    fn says_what_was_expected_in_json_words_and_refuses_trailing_text() {
        let message = |raw: &str| match parse::<Body>(raw.as_bytes()) {
            Err(ApiError::Validation(e)) => e.0[0].message.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(message(r#""x""#), "has the wrong type: expected an object");
        assert_eq!(message(r#"{"count": -1}"#), "has the wrong type: expected a whole number");
        assert!(matches!(parse::<Body>(br#"{"name": "a"} {"x": 1}"#), Err(ApiError::Malformed(_))));
    }
}

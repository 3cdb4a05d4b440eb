//! Conditional GETs: every successful JSON answer to a GET carries an ETag (the one the handler
//! set, such as a record's version, or a digest of the body), and a request whose `If-None-Match`
//! names it is answered 304 without a body. Browsers revalidate on their own (`Cache-Control:
//! private, no-cache`), so a page that polls an unchanged resource moves a few hundred bytes.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Bodies above this are passed through untouched (no API answer comes near it).
const MAX_DIGESTED: usize = 8 * 1024 * 1024;

pub async fn conditional_get(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let asked = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    let response = next.run(req).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_DIGESTED).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = match parts.headers.get(header::ETAG) {
        Some(tag) => tag.clone(),
        None => {
            let digest = Sha256::digest(&bytes);
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            let tag = HeaderValue::try_from(format!("W/\"{hex}\"")).expect("hex is a valid header value");
            parts.headers.insert(header::ETAG, tag.clone());
            tag
        }
    };
    if !parts.headers.contains_key(header::CACHE_CONTROL) {
        parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    if asked.is_some_and(|asked| matches(&asked, etag.to_str().unwrap_or_default())) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether `If-None-Match: asked` names `etag` (weak comparison, as RFC 9110 has it for GET).
fn matches(asked: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    asked.trim() == "*" || asked.split(',').any(|candidate| bare(candidate) == bare(etag))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn weak_and_strong_tags_match_alike_and_lists_are_read() {
        assert!(matches("W/\"abc\"", "W/\"abc\""));
        assert!(matches("\"abc\"", "W/\"abc\""));
        assert!(matches("\"x\", W/\"abc\"", "W/\"abc\""));
        assert!(matches("*", "\"1\""));
        assert!(!matches("W/\"abd\"", "W/\"abc\""));
    }
}

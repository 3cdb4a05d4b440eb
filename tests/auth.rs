//! Tokens: only a valid, unexpired token of this issuer and audience, signed with the pinned
//! algorithm, reaches a handler. Everything else is a 401 problem and nothing is written.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keel_http::{Role, TokenIssuer};
use keel_tests::{all_leads, lead_body, leads_app};

#[tokio::test]
async fn missing_expired_tampered_and_foreign_tokens_are_refused() {
    let app = leads_app().await;
    let t = app.tenant();
    let path = t.path("/leads");
    let secret = std::env::var("KEEL_JWT_SECRET").unwrap();
    let issuer = std::env::var("KEEL_JWT_ISSUER").unwrap();
    let audience = std::env::var("KEEL_JWT_AUDIENCE").unwrap();
    let good = TokenIssuer::new(secret.as_bytes(), &issuer, &audience);

    let mut expired = good.claims(&t.id, &t.user_id, Role::Admin, 900);
    expired.exp -= 3600;
    expired.nbf -= 3600;
    let mut not_yet = good.claims(&t.id, &t.user_id, Role::Admin, 900);
    not_yet.nbf += 3600;
    let valid = t.admin();
    let (head, rest) = valid.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["tid"] = serde_json::json!("someone-else");
    let tampered = format!("{head}.{}.{sig}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let alg_none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("expired", Some(good.sign(&expired))),
        ("not yet valid", Some(good.sign(&not_yet))),
        ("tampered payload", Some(tampered)),
        ("alg none", Some(alg_none)),
        ("wrong key", Some(TokenIssuer::new(&[7u8; 48], &issuer, &audience).token(&t.id, "u", Role::Admin, 900))),
        (
            "wrong issuer",
            Some(TokenIssuer::new(secret.as_bytes(), "https://evil", &audience).token(&t.id, "u", Role::Admin, 900)),
        ),
        (
            "wrong audience",
            Some(TokenIssuer::new(secret.as_bytes(), &issuer, "other-api").token(&t.id, "u", Role::Admin, 900)),
        ),
        ("garbage", Some("not.a.jwt".into())),
    ];
    for (name, token) in cases {
        let r = app.call(axum::http::Method::POST, &path, token.as_deref(), Some(lead_body(1)), &[]).await;
        assert_eq!(r.status, 401, "{name}: {:?}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "{name}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{name}");
        let r = app.call(axum::http::Method::GET, &path, token.as_deref(), None, &[]).await;
        assert_eq!(r.status, 401, "{name}");
    }
    let r = app.call(axum::http::Method::GET, &path, None, None, &[("authorization", "Basic dXNlcjpwYXNz")]).await;
    assert_eq!(r.status, 401);
    assert!(all_leads(&app, &t).await.is_empty());
}

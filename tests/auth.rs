//! Tokens: only a valid, unexpired Ed25519 token of this issuer and audience, signed by a known
//! key id, reaches a handler. Everything else is a 401 problem and nothing is written.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use keel_http::{Role, TokenIssuer};
use keel_tests::{all_leads, lead_body, leads_app};

/// A fresh Ed25519 key that is not the stack's, as PKCS#8 PEM.
fn foreign_key() -> String {
    let der = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
}

#[tokio::test]
async fn missing_expired_tampered_and_foreign_tokens_are_refused() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let path = t.path("/leads");
    let signing_key = std::env::var("KEEL_JWT_SIGNING_KEY").unwrap();
    let kid = std::env::var("KEEL_JWT_SIGNING_KID").unwrap();
    let issuer = std::env::var("KEEL_JWT_ISSUER").unwrap();
    let audience = std::env::var("KEEL_JWT_AUDIENCE").unwrap();
    let good = TokenIssuer::new(signing_key.as_bytes(), &kid, &issuer, &audience).unwrap();
    let signer = |key: &str, kid: &str, iss: &str, aud: &str| TokenIssuer::new(key.as_bytes(), kid, iss, aud).unwrap();
    // The classic confusion attack: HS256 "signed" with the public key as the secret.
    let public_keys: serde_json::Value = serde_json::from_str(&std::env::var("KEEL_JWT_PUBLIC_KEYS").unwrap()).unwrap();
    let public_pem = public_keys[&kid].as_str().unwrap().to_string();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = encode(
        &hs_header,
        &good.claims(&t.id, &t.user_id, Role::Admin, 900),
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();

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
        ("HS256 with the public key", Some(hs256)),
        (
            "foreign key, known kid",
            Some(signer(&foreign_key(), &kid, &issuer, &audience).token(&t.id, "u", Role::Admin, 900)),
        ),
        (
            "unknown kid",
            Some(signer(&signing_key, "retired-0", &issuer, &audience).token(&t.id, "u", Role::Admin, 900)),
        ),
        (
            "wrong issuer",
            Some(signer(&signing_key, &kid, "https://evil", &audience).token(&t.id, "u", Role::Admin, 900)),
        ),
        ("wrong audience", Some(signer(&signing_key, &kid, &issuer, "other-api").token(&t.id, "u", Role::Admin, 900))),
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

#[tokio::test]
async fn a_validly_signed_token_of_a_user_who_does_not_exist_is_refused() {
    let app = leads_app().await;
    let t = app.tenant().await;
    // Signed with the stack's key, for the right company, but naming a user identity never made.
    let ghost = app.issuer.token(&t.id, &format!("ghost-{}", ulid::Ulid::new()), Role::Admin, 900);
    let r = app.post(&t.path("/leads"), &ghost, lead_body(1)).await;
    assert_eq!(r.status, 401, "{:?}", r.body);
    assert_eq!(r.body["detail"], "The session has ended. Sign in again.");
    assert!(all_leads(&app, &t).await.is_empty());
    // The tenant's real user goes on working.
    assert_eq!(app.post(&t.path("/leads"), &t.admin(), lead_body(1)).await.status, 201);
}

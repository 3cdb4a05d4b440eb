//! Secrets read at run time from Secrets Manager (moto's, on the local stack): a rotation reaches a
//! running function without a redeploy, and what was signed before it keeps working for one rotation.

use std::time::Duration;

use keel_http::page::CursorKeys;
use keel_http::secrets::CachedSecret;
use keel_store::{AttributeValue, TenantKeys};

async fn client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&keel_store::aws::sdk_config().await)
}

fn key(n: u32) -> String {
    serde_json::json!({ "key": format!("{n:0>48}") }).to_string()
}

#[tokio::test]
async fn a_rotated_cursor_key_takes_effect_without_a_redeploy_and_old_cursors_still_work() {
    let sm = client().await;
    let id = format!("keel/local/cursor-test-{}", ulid::Ulid::new());
    sm.create_secret().name(&id).secret_string(key(1)).send().await.unwrap();
    // No caching, so the test sees each rotation at once (deployed: within SECRET_TTL).
    let keys = CursorKeys::new(Some(CachedSecret::secrets_manager(Some(sm.clone()), id.clone(), Duration::ZERO)));
    let binding = format!("{}leads?{{}}", TenantKeys::new("t").tenant_prefix());
    let last = std::collections::HashMap::from([("pk".to_string(), AttributeValue::S("T#t#LEAD#1".into()))]);
    let before = keys.signer().await.unwrap().encode(&binding, &last);

    sm.put_secret_value().secret_id(&id).secret_string(key(2)).send().await.unwrap();
    let signer = keys.signer().await.unwrap();
    assert_eq!(signer.decode(&binding, &before).unwrap(), last, "a cursor from before the rotation still works");
    let after = signer.encode(&binding, &last);
    assert_ne!(after, before, "new cursors are signed with the new key");

    sm.put_secret_value().secret_id(&id).secret_string(key(3)).send().await.unwrap();
    let signer = keys.signer().await.unwrap();
    assert!(signer.decode(&binding, &before).is_err(), "two rotations later the old key is gone");
    assert_eq!(signer.decode(&binding, &after).unwrap(), last);
}

#[tokio::test]
async fn a_missing_secret_is_a_retryable_failure_not_a_crash() {
    let keys = CursorKeys::new(Some(CachedSecret::secrets_manager(
        Some(client().await),
        "keel/local/no-such-secret".into(),
        Duration::ZERO,
    )));
    let err = keys.signer().await.expect_err("no secret, no signer");
    assert!(matches!(err, keel_http::ApiError::Internal(_) | keel_http::ApiError::Unavailable(_)), "{err:?}");
}

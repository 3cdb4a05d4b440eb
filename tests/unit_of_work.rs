//! The unit of work under the failures it exists for: an attempt that committed but whose answer
//! was lost, and an idempotency record past its retention.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use axum::http::Method;
use keel_store::db::{n, s};
use keel_store::{Db, RequestCounter, TenantKeys};
use keel_testkit::TestApp;
use keel_tests::{all_leads, lead_body, outbox};
use serde_json::json;

/// Lets the first `TransactWriteItems` reach DynamoDB (it commits), then replaces its answer with
/// a 500, as a timeout or a dropped connection would look to the caller.
#[derive(Debug, Clone, Default)]
struct LoseFirstAnswer {
    lost: Arc<AtomicU32>,
}

impl Intercept for LoseFirstAnswer {
    fn name(&self) -> &'static str {
        "LoseFirstAnswer"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let transaction = cfg.load::<Metadata>().is_some_and(|m| m.name() == "TransactWriteItems");
        if transaction && context.response().status().is_success() && self.lost.fetch_add(1, Ordering::SeqCst) == 0 {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost"}"#;
            let mut lost = HttpResponse::new(500.try_into().expect("status"), SdkBody::from(body));
            lost.headers_mut().insert("content-type", "application/x-amz-json-1.0");
            *context.response_mut() = lost;
        }
        Ok(())
    }
}

/// A table handle whose first transaction's answer is lost. The SDK's own retries are off, so the
/// retry under test is the store's.
async fn losing_db(fault: LoseFirstAnswer) -> Db {
    let sdk = keel_store::aws::sdk_config().await;
    let requests = RequestCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(requests.clone())
        .interceptor(fault)
        .retry_config(RetryConfig::disabled())
        .build();
    let table = std::env::var("KEEL_TABLE").expect("KEEL_TABLE from the local stack");
    Db { client: aws_sdk_dynamodb::Client::from_conf(config), table, requests }
}

#[tokio::test]
async fn a_capture_whose_answer_was_lost_succeeds_on_retry_with_one_effect() {
    let fault = LoseFirstAnswer::default();
    let app = TestApp::with_db(losing_db(fault.clone()).await, keel_leads::router);
    let tenant = app.tenant().await;

    let r = app.post(&tenant.path("/leads"), &tenant.admin(), lead_body(1)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(fault.lost.load(Ordering::SeqCst), 2, "the first answer was lost and the store retried once");
    assert_eq!(app.take_requests().get("TransactWriteItems"), Some(&2));

    let leads = all_leads(&app, &tenant).await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["id"], r.body["id"]);
    assert_eq!(outbox(&app, &tenant).await.len(), 1, "one LeadCreated");
    let audit = keel_tests::audit_records(&app, &tenant).await;
    assert_eq!(audit.len(), 1, "one audit record");
}

#[tokio::test]
async fn a_sign_up_whose_answers_were_lost_still_signs_up_once() {
    let email = format!("lost.{}@acme.example", ulid::Ulid::new().to_string().to_lowercase());
    let body = json!({"company_name": "Acme", "full_name": "Ana Silva", "email": email, "password": "Correct-Horse-7"});
    let asking = LoseFirstAnswer::default();
    let app = TestApp::with_db(losing_db(asking.clone()).await, keel_tests::identity_router);
    let r = app.call(Method::POST, "/api/auth/register", None, Some(body), &[]).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(asking.lost.load(Ordering::SeqCst), 2);
    assert_eq!(keel_infra::mailbox::to(&email).await.len(), 1, "one email");

    // The verification's transaction commits, its answer is lost, and the retry (same request
    // token) is answered as the success it was: the used link does not refuse its own retry.
    let token = keel_infra::mailbox::latest_token(&email, "verify-email").await;
    let verifying = LoseFirstAnswer::default();
    let app = TestApp::with_db(losing_db(verifying.clone()).await, keel_tests::identity_router);
    let body = json!({"token": token, "password": "Correct-Horse-7"});
    let r = app.call(Method::POST, "/api/auth/verify-email", None, Some(body), &[]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(verifying.lost.load(Ordering::SeqCst), 2);
    let token = r.body["access_token"].as_str().unwrap();
    let me = app.get("/api/auth/me", token).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["email"], email.as_str());
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_does_not_end_the_sign_in() {
    let app = keel_tests::app().await;
    let email = format!("refresh.{}@acme.example", ulid::Ulid::new().to_string().to_lowercase());
    let session = keel_tests::sign_up(&app, &email, "Acme").await;

    let fault = LoseFirstAnswer::default();
    let losing = TestApp::with_db(losing_db(fault.clone()).await, keel_tests::identity_router);
    let refresh = json!({"company_id": session["company_id"], "refresh_token": session["refresh_token"]});
    let r = losing.call(Method::POST, "/api/auth/refresh", None, Some(refresh), &[]).await;
    assert_eq!(r.status, 200, "a lost answer is not token reuse: {:?}", r.body);
    assert_eq!(fault.lost.load(Ordering::SeqCst), 2);
    let next = json!({"company_id": session["company_id"], "refresh_token": r.body["refresh_token"]});
    let again = app.call(Method::POST, "/api/auth/refresh", None, Some(next), &[]).await;
    assert_eq!(again.status, 200, "the sign-in goes on: {:?}", again.body);
}

#[tokio::test]
async fn an_expired_idempotency_key_can_be_used_again() {
    let app = keel_tests::leads_app().await;
    let tenant = app.tenant().await;
    let key = [("idempotency-key", "import-row-7")];
    let first = app.call(Method::POST, &tenant.path("/leads"), Some(&tenant.admin()), Some(lead_body(1)), &key).await;
    assert_eq!(first.status, 201);

    // The record's retention ends (DynamoDB deletes expired items only eventually).
    let keys = TenantKeys::new(&tenant.id);
    app.state
        .db
        .client
        .update_item()
        .table_name(&app.state.db.table)
        .key("pk", s(keys.idempotency("leads.create", &format!("{}#import-row-7", tenant.user_id))))
        .key("sk", s("IDEM"))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", n(chrono::Utc::now().timestamp() - 1))
        .send()
        .await
        .expect("age the record");

    let second = app.call(Method::POST, &tenant.path("/leads"), Some(&tenant.admin()), Some(lead_body(2)), &key).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    assert_ne!(second.body["id"], first.body["id"], "a new request, not a replay of the expired one");
    let replay = app.call(Method::POST, &tenant.path("/leads"), Some(&tenant.admin()), Some(lead_body(2)), &key).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body["id"], second.body["id"], "the key holds again for the new request");
    assert_eq!(all_leads(&app, &tenant).await.len(), 2);
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_the_user_who_sent_it() {
    let app = keel_tests::leads_app().await;
    let tenant = app.tenant().await;
    let key = [("idempotency-key", "row-1")];
    let first = app.call(Method::POST, &tenant.path("/leads"), Some(&tenant.admin()), Some(lead_body(1)), &key).await;
    assert_eq!(first.status, 201);
    // A colleague sending the same key and body does not get the admin's lead back…
    let rep = app.user_token(&tenant, "rep-1", keel_http::Role::SalesRep).await;
    let theirs = app.call(Method::POST, &tenant.path("/leads"), Some(&rep), Some(lead_body(2)), &key).await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // …and cannot squat the admin's key either: the admin's replay still answers the admin's lead.
    let replay = app.call(Method::POST, &tenant.path("/leads"), Some(&tenant.admin()), Some(lead_body(1)), &key).await;
    assert_eq!(replay.body["id"], first.body["id"]);
}

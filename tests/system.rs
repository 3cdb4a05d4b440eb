//! The platform is its operators': queue depths, dead letters and their redrive (a background job
//! run by the system jobs consumer, chunk by chunk) and the platform's audit trail. A company's
//! administrator is refused all of it and sees the company's own background work instead.

use std::time::{Duration, Instant};

use axum::http::Method;
use keel_http::Role;
use keel_tests::{bus_message, capture, depth, lead_body, lead_created_event, summary};

/// Every `/api/system/*` operation of the OpenAPI document, with its path filled in.
fn platform_operations() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(keel_infra::api::openapi()).unwrap();
    let mut out = Vec::new();
    for (template, ops) in doc["paths"].as_object().unwrap() {
        if !template.starts_with("/api/system/") {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let path =
                template.replace("{queue}", "dashboard-counters").replace("{job_id}", "01JCDEMOJOB000000000000000");
            out.push((method.to_uppercase().parse().unwrap(), path));
        }
    }
    assert!(out.len() >= 4, "{out:?}");
    out
}

#[tokio::test]
async fn only_operators_see_and_operate_the_platform() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let operator = app.operator_token().await;
    for (method, path) in platform_operations() {
        for role in Role::ALL {
            let token = app.user_token(&t, &format!("{}-1", role.as_str()), role).await;
            let r = app.call(method.clone(), &path, Some(&token), None, &[]).await;
            assert_eq!(r.status, 403, "{method} {path} as a company's {role:?}: {:?}", r.body);
        }
        assert_eq!(app.call(method.clone(), &path, None, None, &[]).await.status, 401, "{method} {path}");
        let r = app.call(method.clone(), &path, Some(&operator), None, &[]).await;
        let expected: &[u16] = if path.contains("/jobs/") { &[404] } else { &[200, 202] };
        assert!(expected.contains(&r.status.as_u16()), "{method} {path} as an operator: {} {:?}", r.status, r.body);
    }
    let info = app.get("/api/system/info", &operator).await;
    assert_eq!(info.body["table"], std::env::var("KEEL_TABLE").unwrap().as_str());
    assert_eq!(info.body["stage"], "local");
    let r =
        app.call(Method::POST, "/api/system/background-tasks/no-such-queue/redrive", Some(&operator), None, &[]).await;
    assert_eq!(r.status, 404);
    // Operators act on the platform, never on a company's records.
    capture(&app, &t, lead_body(1)).await;
    assert_eq!(app.get(&t.path("/leads"), &operator).await.status, 404);
    assert_eq!(app.get(&t.path("/jobs"), &operator).await.status, 404);
}

#[tokio::test]
async fn a_redrive_runs_as_a_background_job_and_lands_in_the_platform_audit_trail() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let operator = app.operator_token().await;
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    let dlq = std::env::var("KEEL_QUEUE_DASHBOARD_COUNTERS_DLQ").unwrap();
    // A message that was dead-lettered while its consumer was broken.
    let event = lead_created_event(&t.id, 1, "Trade show");
    sqs.send_message().queue_url(&dlq).message_body(bus_message(&event)).send().await.unwrap();

    let tasks = app.get("/api/system/background-tasks", &operator).await;
    assert_eq!(tasks.status, 200);
    let q =
        tasks.body["queues"].as_array().unwrap().iter().find(|q| q["name"] == "dashboard-counters").cloned().unwrap();
    assert!(q["dead_letters"].as_u64().unwrap() >= 1, "{q}");
    assert!(tasks.body["queues"].as_array().unwrap().iter().any(|q| q["name"] == "system-jobs"));

    let r = app
        .call(Method::POST, "/api/system/background-tasks/dashboard-counters/redrive", Some(&operator), None, &[])
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["state"], "queued");
    let location = r.header("location").unwrap().to_string();

    // The system jobs consumer (through the relay, the bus and its queue) moves the messages.
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let job = app.get(&location, &operator).await;
        assert_eq!(job.status, 200, "{:?}", job.body);
        if job.body["state"] == "succeeded" {
            break job.body;
        }
        assert!(Instant::now() < deadline, "the redrive job never finished: {:?}", job.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(job["progress"]["moved"].as_u64().unwrap() >= 1, "{job}");
    assert_eq!(depth(&sqs, &dlq).await, 0);
    // …and the running dashboard consumer applies what came back.
    while summary(&app, &t).await["leads"]["total"] != 1 {
        assert!(Instant::now() < deadline, "redriven event never applied (is the event plumbing running?)");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The operator's action is in the platform's audit trail, and in no company's.
    let trail = app.get("/api/audit?entity_type=job", &operator).await;
    assert_eq!(trail.status, 200, "{:?}", trail.body);
    let job_id = job["job_id"].as_str().unwrap();
    assert!(
        trail.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "system.redrive" && r["entity_id"] == job_id),
        "{:?}",
        trail.body
    );
    let company_trail = app.get("/api/audit", &t.admin()).await;
    assert!(!company_trail.body.to_string().contains("system.redrive"));
}

#[tokio::test]
async fn a_companys_administrator_sees_its_own_background_work() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let empty = app.get(&t.path("/jobs"), &t.admin()).await;
    assert_eq!(empty.status, 200, "{:?}", empty.body);
    assert_eq!(empty.body["jobs"]["items"].as_array().unwrap().len(), 0);
    assert_eq!(empty.body["events"]["last_event_at"], serde_json::Value::Null);

    capture(&app, &t, lead_body(1)).await;
    // The lead's event reaches the bus through the relay: the view says how long it took.
    let deadline = Instant::now() + Duration::from_secs(30);
    let delivered = loop {
        let r = app.get(&t.path("/jobs"), &t.admin()).await;
        if r.body["events"]["waiting"] == false {
            break r.body;
        }
        assert!(Instant::now() < deadline, "the event never reached the bus: {:?}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(delivered["events"]["last_published_at"].is_string(), "{delivered}");
    assert!(delivered["events"]["lag_ms"].as_i64().unwrap() >= 0);

    for role in [Role::Manager, Role::SalesRep, Role::Viewer] {
        let token = app.user_token(&t, &format!("{}-1", role.as_str()), role).await;
        assert_eq!(app.get(&t.path("/jobs"), &token).await.status, 403, "{role:?}");
    }
    let r = app.get(&t.path("/jobs?limit=0"), &t.admin()).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["limit".to_string()]));
}

#[tokio::test]
async fn a_redrive_that_cannot_reach_sqs_gives_its_claim_back_to_be_retried() {
    use keel_worker::{Harness, Outcome};
    let app = keel_tests::app().await;
    // The runner as its Lambda builds it, but with SQS out of reach.
    let runtime = keel_function::Runtime::new("SystemJobsFunction").await;
    let db = runtime.db().unwrap();
    let unreachable = aws_sdk_sqs::config::Builder::from(&runtime.sdk)
        .endpoint_url("http://127.0.0.1:9")
        .interceptor(keel_function::CallRecorder::new("SystemJobsFunction", "sqs"))
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    let runner = keel_system::RedriveRunner {
        db: db.clone(),
        sqs: aws_sdk_sqs::Client::from_conf(unreachable),
        queues: keel_system::Queues::from_env(),
    };
    let harness = Harness::new(db, runner);
    let job_id = ulid::Ulid::new().to_string();
    let request = keel_events::RedriveRequested { job_id, queue: "dashboard-counters".into() };
    let actor = keel_events::Actor { user_id: "operator-1".into(), role: "operator".into() };
    let event = keel_events::Envelope::new(keel_store::PLATFORM_TENANT, actor, chrono::Utc::now(), &request);
    assert!(matches!(harness.apply(&event).await, Outcome::Failed(_)), "an unreachable SQS is transient");
    let claim = keel_store::TenantKeys::platform().key(&format!("CONSUMED#system-jobs#{}", event.event_id));
    let given_back = app.state.db.get(&claim, "IDEM").await.unwrap().expect("the claim");
    assert_eq!(given_back["lease_until"].as_n().unwrap(), "0", "the claim was given back for the retry");
}

#[tokio::test]
async fn no_company_can_make_or_mint_an_operator() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let body = serde_json::json!({"email": "op@acme.example", "full_name": "Op", "role": "operator"});
    let r = app.post(&t.path("/users"), &t.admin(), body).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["role".to_string()]), "{:?}", r.body);
    let colleague = serde_json::json!({"email": "kim@acme.example", "full_name": "Kim"});
    let kim = app.post(&t.path("/users"), &t.admin(), colleague).await.body["user_id"].as_str().unwrap().to_string();
    let r = app.patch(&t.path(&format!("/users/{kim}")), &t.admin(), serde_json::json!({"role": "operator"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["role".to_string()]), "{:?}", r.body);

    // Tokens that mix a company with the operator role, or the platform with a company role, are refused
    // even when validly signed.
    let mixed = app.issuer.token(&t.id, &t.user_id, Role::Operator, 900);
    assert_eq!(app.get("/api/system/info", &mixed).await.status, 401);
    assert_eq!(app.get(&t.path("/leads"), &mixed).await.status, 401);
    let platform_admin = app.issuer.token(keel_store::PLATFORM_TENANT, "someone", Role::Admin, 900);
    assert_eq!(app.get("/api/system/info", &platform_admin).await.status, 401);

    // An operator's own tenant is nobody's company.
    let operator = app.operator_token().await;
    for rest in ["/leads", "/events", "/dashboard/summary", "/jobs", "/users"] {
        let r = app.get(&format!("/api/companies/_platform{rest}"), &operator).await;
        assert_eq!(r.status, 404, "{rest}: {:?}", r.body);
    }
}

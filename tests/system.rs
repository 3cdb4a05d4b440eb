//! System status: administrators only; queue depths; redrive of dead letters through the API,
//! processed by the running dashboard consumer.

use std::time::{Duration, Instant};

use axum::http::Method;
use keel_http::Role;
use keel_testkit::TestApp;
use keel_tests::{bus_message, depth, lead_created_event, summary};

async fn system_app() -> TestApp {
    keel_tests::app().await
}

#[tokio::test]
async fn only_administrators_see_and_operate_system_status() {
    let app = system_app().await;
    let t = app.tenant().await;
    let routes = [
        (Method::GET, "/api/system/info"),
        (Method::GET, "/api/system/background-tasks"),
        (Method::POST, "/api/system/background-tasks/dashboard-counters/redrive"),
    ];
    for (method, path) in routes {
        for role in [Role::Manager, Role::SalesRep, Role::Viewer] {
            let r = app.call(method.clone(), path, Some(&t.token(role)), None, &[]).await;
            assert_eq!(r.status, 403, "{method} {path} as {role:?}");
        }
        assert_eq!(app.call(method.clone(), path, None, None, &[]).await.status, 401);
    }
    let info = app.get("/api/system/info", &t.admin()).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.body["table"], std::env::var("KEEL_TABLE").unwrap().as_str());
    assert_eq!(info.body["stage"], "local");
    let r =
        app.call(Method::POST, "/api/system/background-tasks/no-such-queue/redrive", Some(&t.admin()), None, &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn dead_letters_show_up_and_redrive_delivers_them() {
    let app = system_app().await;
    let t = app.tenant().await;
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    let dlq = std::env::var("KEEL_QUEUE_DASHBOARD_COUNTERS_DLQ").unwrap();
    // A message that was dead-lettered while its consumer was broken.
    let event = lead_created_event(&t.id, 1, "Trade show");
    sqs.send_message().queue_url(&dlq).message_body(bus_message(&event)).send().await.unwrap();

    let tasks = app.get("/api/system/background-tasks", &t.admin()).await;
    assert_eq!(tasks.status, 200);
    let q =
        tasks.body["queues"].as_array().unwrap().iter().find(|q| q["name"] == "dashboard-counters").cloned().unwrap();
    assert!(q["dead_letters"].as_u64().unwrap() >= 1, "{q}");

    let r = app
        .call(Method::POST, "/api/system/background-tasks/dashboard-counters/redrive", Some(&t.admin()), None, &[])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["moved"].as_u64().unwrap() >= 1);
    assert_eq!(depth(&sqs, &dlq).await, 0);

    // The running consumer (event plumbing) applies it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while summary(&app, &t).await["leads"]["total"] != 1 {
        assert!(Instant::now() < deadline, "redriven event never applied (is the event plumbing running?)");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tasks = app.get("/api/system/background-tasks", &t.admin()).await;
    assert!(tasks.body["relay"].is_object());
}

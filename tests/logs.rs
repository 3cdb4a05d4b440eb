//! Logs carry request id, tenant, route and latency, and never personal data or tokens: this
//! captures everything the leads API logs through a realistic session and scans it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use keel_tests::{lead_body, leads_app};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_requests_but_no_people_and_no_tokens() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The functions' JSON format and filter (keel_http::telemetry), at the most verbose level
    // anyone could set, written to memory.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(keel_http::telemetry::filter(Some("trace")))
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(move || writer.clone())
        .init();

    let app = leads_app().await;
    let t = app.tenant().await;
    let token = t.admin();
    let mut body = lead_body(4242);
    body["first_name"] = json!("Zephyrine");
    body["last_name"] = json!("Quillfeather");
    body["notes"] = json!("prefers calls after 5pm");
    let created = app.post(&t.path("/leads"), &token, body.clone()).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_string();
    // The paths that tend to log: duplicates, bad input, stale writes, bad tokens, unknown ids.
    assert_eq!(app.post(&t.path("/leads"), &token, body.clone()).await.status, 409);
    let mut bad = body.clone();
    bad["email"] = json!("zephyrine.quillfeather@");
    assert_eq!(app.post(&t.path("/leads"), &token, bad).await.status, 400);
    let path = t.path(&format!("/leads/{id}"));
    assert_eq!(app.patch(&path, &token, json!({"version": 9, "notes": "x"})).await.status, 409);
    assert_eq!(app.get(&path, &token).await.status, 200);
    let tampered = format!("{token}x");
    assert_eq!(app.call(Method::GET, &path, Some(&tampered), None, &[]).await.status, 401);
    assert_eq!(app.get(&t.path("/leads?source=Google%20Ads"), &token).await.status, 200);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request served"), "requests are logged at all");
    assert!(logs.contains(&t.id), "with the tenant");
    assert!(logs.contains("/api/companies/{company_id}/leads/{lead_id}"), "with the route template");
    assert!(logs.contains("latency_ms") && logs.contains("request_id"));
    let secrets = [
        ("email", "ana.4242@acme.example".to_string()),
        ("phone", "+14155554242".to_string()),
        ("phone digits", "4155554242".to_string()),
        ("first name", "Zephyrine".to_string()),
        ("last name", "Quillfeather".to_string()),
        ("notes", "prefers calls".to_string()),
        ("token", token[token.len() - 20..].to_string()),
        ("bearer", "Bearer".to_string()),
    ];
    for (what, needle) in secrets {
        assert!(!logs.contains(&needle), "the logs contain a {what}:\n{logs}");
    }
}

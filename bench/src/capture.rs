//! (m) Capture channels: a web form submission from a new person and from a known one, a signed
//! WhatsApp message, and validating 1,000 rows — latency and the DynamoDB requests each makes.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request};
use keel_testkit::TestApp;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{ms, stats};

/// Per scenario: under a form's limit of 120 submissions a minute.
const SAMPLES: u32 = 100;

fn calls(c: &std::collections::BTreeMap<String, u64>) -> String {
    c.iter().map(|(op, n)| format!("{n} {op}")).collect::<Vec<_>>().join(" + ")
}

/// A public request from its own address (one address may send 10 submissions in ten minutes).
async fn public(app: &TestApp, path: &str, n: u32, headers: &[(&str, String)], body: String) -> u16 {
    let mut request =
        Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let mut request = request.body(Body::from(body)).expect("a request");
    let address = SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40000));
    request.extensions_mut().insert(axum::extract::ConnectInfo(address));
    app.router().oneshot(request).await.expect("infallible").status().as_u16()
}

fn sign(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn person(n: u32) -> Value {
    json!({"first_name": "Grace", "last_name": format!("Hopper {n}"), "email": format!("grace.{n}@navy.example"),
        "company_name": "Navy", "consent": "on"})
}

pub async fn capture() -> String {
    let runtime = keel_function::Runtime::new("CaptureFunction").await;
    let files = keel_capture::import::file::Files::from_env(runtime.s3()).expect("the local stack's import bucket");
    let app =
        TestApp::new(|state| keel_capture::router(state.clone(), files).merge(keel_activities::router(state))).await;
    let t = app.tenant().await;
    let token = t.admin();
    for n in 0..3 {
        app.user_token(&t, &format!("rep-{n}"), keel_http::Role::SalesRep).await;
    }
    let form = json!({"name": "Bench form", "source": "Website", "campaign": "Bench", "medium": "web form",
        "consent_text": "I agree to be contacted.",
        "fields": [{"name": "first_name", "label": "First"}, {"name": "last_name", "label": "Last"},
            {"name": "email", "label": "Email", "required": true}, {"name": "company_name", "label": "Company"}]});
    let mut out = String::new();
    let run = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(out, "Run {run}, release build (`keel-bench bench/results.md m` runs this section alone).\n").unwrap();
    writeln!(out, "| operation | p50 ms | p99 ms | DynamoDB requests |\n|---|---|---|---|").unwrap();
    let mut row = |label: String, samples: Vec<Duration>, requests: &std::collections::BTreeMap<String, u64>| {
        let s = stats(samples);
        writeln!(out, "| {label} | {} | {} | {} |", ms(s.p50), ms(s.p99), calls(requests)).unwrap();
    };

    let mut requests = Default::default();
    for (label, again) in [("web form, a new person", false), ("web form, a known person (logged and scored)", true)] {
        // A form of its own per scenario: each stays under the form's limit.
        let created = app.post(&t.path("/forms"), &token, form.clone()).await;
        let submit = format!("/api/forms/{}/submit", created.body["key"].as_str().expect("a form key"));
        let mut samples = Vec::new();
        for n in 0..SAMPLES {
            let mut body = person(n);
            body["company_name"] = json!(format!("Navy {again}"));
            app.take_requests();
            let started = Instant::now();
            let status = public(&app, &submit, n + if again { 50_000 } else { 0 }, &[], body.to_string()).await;
            samples.push(started.elapsed());
            requests = app.take_requests();
            assert_eq!(status, 202);
        }
        row(format!("{label} ({SAMPLES} submissions)"), samples, &requests);
    }

    let channel = json!({"app_secret": "bench-secret-0123456", "verify_token": "bench-verify-token"});
    let channel = app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&token), Some(channel), &[]).await;
    let hook = channel.body["webhook_path"].as_str().expect("a webhook").to_string();
    for (label, known) in [("WhatsApp message, a new phone", false), ("WhatsApp message, a known phone", true)] {
        let mut samples = Vec::new();
        for n in 0..SAMPLES {
            let from = format!("4915112{:06}", if known { 0 } else { n + 1 });
            let delivery = json!({"entry": [{"changes": [{"value": {
                "contacts": [{"wa_id": from, "profile": {"name": "Ada Lovelace"}}],
                "messages": [{"id": format!("wamid.{known}.{n}"), "from": from, "timestamp": chrono::Utc::now().timestamp().to_string(),
                    "type": "text", "text": {"body": "Hello"}}]}}]}]})
            .to_string();
            let signature = sign("bench-secret-0123456", &delivery);
            app.take_requests();
            let started = Instant::now();
            let status = public(&app, &hook, n, &[("x-hub-signature-256", signature)], delivery).await;
            samples.push(started.elapsed());
            requests = app.take_requests();
            assert_eq!(status, 200);
        }
        row(format!("{label} ({SAMPLES} deliveries)"), samples, &requests);
    }

    let rows: Vec<Value> = (0..1_000)
        .map(|n| {
            json!({"first_name": "Row", "last_name": format!("{n}"), "email": format!("row.{n}@acme.example"),
                "source": "Fair", "campaign": "Bench", "medium": "list"})
        })
        .collect();
    let mut samples = Vec::new();
    for _ in 0..20 {
        app.take_requests();
        let started = Instant::now();
        let r = app.post(&t.path("/data/validate"), &token, json!({ "rows": rows })).await;
        samples.push(started.elapsed());
        requests = app.take_requests();
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    row("validate 1,000 rows (20 requests)".into(), samples, &requests);
    writeln!(
        out,
        "\nA submission reads its form's key (1 GetItem: the company and the form), takes its two limits (2 \
         UpdateItem) and reads the email's marker; a new person then costs the round-robin turn (1 Query of the \
         users, 1 UpdateItem) and 1 TransactWriteItems (lead, markers, consent, event, audit, done record); a \
         known one the lead (1 GetItem) and 1 TransactWriteItems (lead, activity, timeline entry, consent, event, \
         audit, done record). A WhatsApp delivery reads its hook (1 GetItem) and the phone's marker, then the same. \
         Validation reads the rows' markers, 100 a BatchGetItem, and writes nothing."
    )
    .unwrap();
    out
}

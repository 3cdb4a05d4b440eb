//! Shared helpers of Keel's end-to-end tests (the tests themselves are the `[[test]]` targets).

use keel_testkit::{Tenant, TestApp};
use serde_json::{json, Value};

/// The API as deployed: each request goes to the function template.yaml routes it to, each
/// function with its own state and its AWS calls recorded under its name (the conformance check
/// holds them to its IAM policy). `app.state` is the test's own handle on the table; every
/// function counts its DynamoDB requests into the same counter.
pub async fn app() -> TestApp {
    let db = keel_store::Db::from_env().await.expect("KEEL_TABLE from the local stack");
    let gateway = keel_infra::gateway::gateway(db.requests.clone()).await.expect("the local gateway");
    let tokens = keel_http::state::TokenSettings::from_env().expect("token settings from the local stack");
    let state = keel_http::AppState::new(db, &tokens).expect("the test's state");
    TestApp::with_router(state, gateway)
}

pub async fn leads_app() -> TestApp {
    app().await
}

/// A valid lead body; `n` makes email and phone unique.
pub fn lead_body(n: u32) -> Value {
    json!({
        "first_name": "Ana",
        "last_name": format!("Silva {n}"),
        "company_name": "Acme Ltd",
        "email": format!("ana.{n}@acme.example"),
        "phone": format!("+1415555{:04}", n),
        "source": "Google Ads",
        "campaign": "CRM-Q4-2025",
        "medium": "CPC"
    })
}

/// Polls until `check` holds (what consumers keep follows the events through the bus).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

/// Captures a lead and returns it.
pub async fn capture(app: &TestApp, tenant: &Tenant, body: Value) -> Value {
    let r = app.post(&tenant.path("/leads"), &tenant.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

/// Every lead the tenant has, following cursors.
pub async fn all_leads(app: &TestApp, tenant: &Tenant) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => tenant.path(&format!("/leads?limit=200&cursor={c}")),
            None => tenant.path("/leads?limit=200"),
        };
        let r = app.get(&path, &tenant.admin()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        out.extend(r.body["items"].as_array().cloned().unwrap_or_default());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Every item of one partition, in sort-key order.
pub async fn partition(app: &TestApp, pk: String) -> Vec<keel_store::Item> {
    let out = app
        .state
        .db
        .client
        .query()
        .table_name(&app.state.db.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", keel_store::AttributeValue::S(pk))
        .send()
        .await
        .expect("query a partition");
    out.items.unwrap_or_default()
}

/// The tenant's outbox events, oldest first.
pub async fn outbox(app: &TestApp, tenant: &Tenant) -> Vec<Value> {
    let items = partition(app, keel_store::TenantKeys::new(&tenant.id).events()).await;
    items.iter().map(|i| serde_json::from_str(i["envelope"].as_s().expect("envelope")).expect("json")).collect()
}

/// A lead event of `tenant` as the leads context would emit it, without going through the API.
pub fn lead_created_event(tenant: &str, n: u32, source: &str) -> keel_events::Envelope {
    use keel_core::{LeadStatus, ScoreBand};
    let detail = keel_events::LeadCreated {
        lead_id: ulid::Ulid::new().to_string(),
        owner_id: "user-1".into(),
        status: LeadStatus::New,
        source: source.into(),
        campaign: format!("campaign-{n}"),
        medium: "CPC".into(),
        score: 10,
        score_band: ScoreBand::Cold,
    };
    let actor = keel_events::Actor { user_id: "user-1".into(), role: "admin".into() };
    keel_events::Envelope::new(tenant, actor, chrono::Utc::now(), &detail)
}

/// The dashboard summary of `tenant`, read through its API.
pub async fn summary(app: &TestApp, tenant: &Tenant) -> Value {
    let r = app.get(&tenant.path("/dashboard/summary"), &tenant.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// Test-owned SQS queues in moto: a queue and its dead-letter queue.
pub struct TestQueues {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
}

pub async fn test_queues(max_receive: u32) -> TestQueues {
    let sdk = keel_store::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = format!("test-{}", ulid::Ulid::new());
    let dlq_url = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
    let dlq_arn = queue_arn(&sqs, &dlq_url).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}).to_string();
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, redrive)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_arn(&sqs, &url).await;
    TestQueues { sqs, url, arn, dlq_url }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    out.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone()
}

/// Messages visible plus in flight in a queue.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes.unwrap_or_default();
    let get = |a: A| attrs.get(&a).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesNotVisible)
}

/// The body EventBridge puts on a queue for `envelope`.
pub fn bus_message(envelope: &keel_events::Envelope) -> String {
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": envelope.detail_type,
        "source": envelope.source,
        "account": "123456789012",
        "time": envelope.occurred_at,
        "region": "us-east-1",
        "resources": [],
        "detail": envelope,
    })
    .to_string()
}

/// Signs up through the API as a person does: the request, the link mailed to `email`, the
/// verification. Answers the first session.
pub async fn sign_up(app: &TestApp, email: &str, company: &str) -> Value {
    let body =
        json!({"company_name": company, "full_name": "Ana Silva", "email": email, "password": "Correct-Horse-7"});
    let asked = app.call(axum::http::Method::POST, "/api/auth/register", None, Some(body), &[]).await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    let token = keel_infra::mailbox::latest_token(email, "verify-email").await;
    let verified = app
        .call(
            axum::http::Method::POST,
            "/api/auth/verify-email",
            None,
            Some(json!({"token": token, "password": "Correct-Horse-7"})),
            &[],
        )
        .await;
    assert_eq!(verified.status, 201, "{:?}", verified.body);
    verified.body
}

/// Moves a used refresh token's rotation `ms` into the past, as if it were presented again that
/// much later.
pub async fn age_refresh_rotation(app: &TestApp, company_id: &str, refresh_token: &str, ms: i64) {
    let hash: String = ring::digest::digest(&ring::digest::SHA256, refresh_token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let keys = keel_store::TenantKeys::new(company_id);
    app.state
        .db
        .client
        .update_item()
        .table_name(&app.state.db.table)
        .key("pk", keel_store::db::s(keys.key(&format!("REFRESH#{hash}"))))
        .key("sk", keel_store::db::s("REFRESH"))
        .update_expression("SET rotated_at_ms = rotated_at_ms - :ms")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":ms", keel_store::db::n(ms))
        .send()
        .await
        .expect("the refresh token's record");
}

/// The identity function's router alone, on a state the test chose.
pub fn identity_router(state: keel_http::AppState) -> axum::Router {
    keel_identity::router(state, keel_testkit::issuer())
}

/// The tenant's audit records, read from the table.
pub async fn audit_records(app: &TestApp, tenant: &Tenant) -> Vec<keel_store::Item> {
    partition(app, keel_store::audit::partition(&keel_store::TenantKeys::new(&tenant.id))).await
}

/// The scheduler as its Lambda runs it (its AWS calls recorded under `SchedulerFunction`), to be
/// called with the test's own clock: "two days later" is an argument.
pub async fn scheduler() -> keel_function::ScheduleHandler {
    let keel_function::Trigger::Schedule { handler, .. } = keel_system::scheduler_function().trigger else {
        panic!("the scheduler runs on a schedule")
    };
    handler(keel_function::Runtime::new("SchedulerFunction").await).await.expect("the scheduler")
}

/// Sends `body` to a presigned upload address as a browser would (`PUT`, the headers it was given)
/// and answers the status. Plain HTTP/1.1: the local S3 (moto) listens on a loopback port.
pub async fn put_presigned(url: &str, headers: &Value, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("a local http address");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("the local S3 answers");
    let mut request =
        format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers.as_object().into_iter().flatten() {
        request.push_str(&format!("{name}: {}\r\n", value.as_str().unwrap_or_default()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).to_string();
    head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

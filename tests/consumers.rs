//! The consumer harness against the real table and moto's SQS: redelivery, races, poison
//! messages, dead-lettering and redrive.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::TransactWriteItem;
use keel_dashboard::DashboardCounters;
use keel_events::Envelope;
use keel_infra::plumbing::QueuePoller;
use keel_store::db::s;
use keel_store::{Db, TenantKeys};
use keel_testkit::TestApp;
use keel_tests::{bus_message, depth, lead_created_event, summary, test_queues};
use keel_worker::{Consumer, HandlerError, Harness, Outcome};

async fn dashboard() -> (TestApp, Harness<DashboardCounters>) {
    let app = keel_tests::app().await;
    let db = app.state.db.clone();
    (app, Harness::new(db.clone(), DashboardCounters { db }))
}

#[tokio::test]
async fn an_event_delivered_twice_is_counted_once() {
    let (app, harness) = dashboard().await;
    let t = app.tenant().await;
    let event = lead_created_event(&t.id, 1, "Webinar");
    assert_eq!(harness.apply(&event).await, Outcome::Applied);
    assert_eq!(harness.apply(&event).await, Outcome::Duplicate);
    let s = summary(&app, &t).await;
    assert_eq!(s["leads"]["total"], 1);
    assert_eq!(s["leads"]["by_source"]["Webinar"], 1);
    assert_eq!(s["leads"]["by_status"]["new"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_consumers_apply_each_event_once() {
    let (app, harness) = dashboard().await;
    let harness = Arc::new(harness);
    let t = app.tenant().await;
    let events: Vec<Envelope> = (0..20).map(|n| lead_created_event(&t.id, n, "Referral")).collect();
    let mut tasks = Vec::new();
    for event in &events {
        for _ in 0..3 {
            let (harness, event) = (harness.clone(), event.clone());
            tasks.push(tokio::spawn(async move { harness.apply(&event).await }));
        }
    }
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            Outcome::Applied => applied += 1,
            Outcome::Duplicate | Outcome::Busy => {}
            Outcome::Failed(e) | Outcome::Refused(e) => panic!("{e}"),
        }
    }
    assert_eq!(applied, 20);
    assert_eq!(summary(&app, &t).await["leads"]["total"], 20);
    // Tenants never meet: another tenant's counters are untouched.
    let u = app.tenant().await;
    assert_eq!(summary(&app, &u).await["leads"]["total"], 0);
}

/// A consumer that fails on events marked as poison while `broken` is set.
struct Flaky {
    db: Db,
    broken: Arc<AtomicBool>,
}

impl Consumer for Flaky {
    fn name(&self) -> &'static str {
        "flaky-test-consumer"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        if event.detail["campaign"] == "poison" && self.broken.load(Ordering::SeqCst) {
            return Err(HandlerError::Retry("cannot handle poison yet".into()));
        }
        let keys = TenantKeys::new(&event.tenant_id);
        let item = keel_store::Item::from([
            ("pk".to_string(), s(keys.key(&format!("FLAKY#{}", event.event_id)))),
            ("sk".to_string(), s("DONE")),
        ]);
        Ok(vec![keel_worker::put(&self.db, item)])
    }
}

async fn done(db: &Db, event: &Envelope) -> bool {
    let keys = TenantKeys::new(&event.tenant_id);
    db.get(&keys.key(&format!("FLAKY#{}", event.event_id)), "DONE").await.unwrap().is_some()
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_redriven_once_fixed() {
    let app = keel_tests::app().await;
    let db = app.state.db.clone();
    let t = app.tenant().await;
    let queues = test_queues(5).await;
    let broken = Arc::new(AtomicBool::new(true));
    let harness = Harness::new(db.clone(), Flaky { db: db.clone(), broken: broken.clone() });
    let poller = QueuePoller { client: queues.sqs.clone(), url: queues.url.clone(), batch_size: 10 };

    let mut poison = lead_created_event(&t.id, 0, "Partner");
    poison.detail["campaign"] = "poison".into();
    let good: Vec<Envelope> = (1..=3).map(|n| lead_created_event(&t.id, n, "Partner")).collect();
    for e in std::iter::once(&poison).chain(&good) {
        queues.sqs.send_message().queue_url(&queues.url).message_body(bus_message(e)).send().await.unwrap();
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    while depth(&queues.sqs, &queues.dlq_url).await == 0 {
        assert!(Instant::now() < deadline, "poison never reached the DLQ");
        poller.poll(Duration::from_secs(1), |event| harness.handle_batch(event)).await.unwrap();
    }
    for e in &good {
        assert!(done(&db, e).await, "the rest of the batch is processed");
    }
    assert!(!done(&db, &poison).await);
    assert_eq!(depth(&queues.sqs, &queues.url).await, 0);

    broken.store(false, Ordering::SeqCst);
    let moved = keel_worker::redrive::redrive(&queues.sqs, &queues.dlq_url, &queues.url, 100).await.unwrap();
    assert_eq!(moved, 1);
    while !done(&db, &poison).await {
        assert!(Instant::now() < deadline, "redriven message never applied");
        poller.poll(Duration::from_secs(1), |event| harness.handle_batch(event)).await.unwrap();
    }
    assert_eq!(depth(&queues.sqs, &queues.dlq_url).await, 0);
    assert_eq!(depth(&queues.sqs, &queues.url).await, 0);
}

#[tokio::test]
async fn unreadable_messages_fail_alone() {
    let (app, harness) = dashboard().await;
    let t = app.tenant().await;
    let queues = test_queues(5).await;
    let poller = QueuePoller { client: queues.sqs.clone(), url: queues.url.clone(), batch_size: 10 };
    let good = lead_created_event(&t.id, 1, "Event");
    for body in ["not json".to_string(), bus_message(&good)] {
        queues.sqs.send_message().queue_url(&queues.url).message_body(body).send().await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while summary(&app, &t).await["leads"]["total"] != 1 {
        assert!(Instant::now() < deadline);
        poller.poll(Duration::from_secs(1), |event| harness.handle_batch(event)).await.unwrap();
    }
    assert_eq!(depth(&queues.sqs, &queues.url).await, 1, "only the unreadable message is left to retry");
}

/// One SQS message carrying `event` as EventBridge delivers it.
fn sqs_batch(event: &Envelope) -> aws_lambda_events::event::sqs::SqsEvent {
    serde_json::from_value(serde_json::json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "r-1", "body": bus_message(event), "attributes": {},
        "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1"
    }]}))
    .unwrap()
}

#[tokio::test]
async fn an_event_the_counters_consumer_refuses_is_recorded_and_never_retried() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    // The consumer as its Lambda builds it, from its declaration.
    let keel_function::Trigger::Queue { handler, .. } = keel_dashboard::counters_function().trigger else {
        panic!("the counters function is a queue consumer")
    };
    let handler = handler(keel_function::Runtime::new("DashboardCountersFunction").await).await.unwrap();
    let mut event = lead_created_event(&t.id, 1, "Webinar");
    event.detail = serde_json::json!({"unexpected": true});
    let response = handler(sqs_batch(&event)).await;
    assert!(response.batch_item_failures.is_empty(), "a refusal is acknowledged, not walked to the DLQ");
    let claim = TenantKeys::new(&t.id).key(&format!("CONSUMED#dashboard-counters#{}", event.event_id));
    let record = app.state.db.get(&claim, "IDEM").await.unwrap().expect("the refusal is recorded");
    assert_eq!(record["status"].as_s().unwrap(), "REFUSED");
    assert!(record["reason"].as_s().unwrap().contains("detail unreadable"), "{record:?}");
    // Delivered again: decided already, nothing retried or counted.
    assert!(handler(sqs_batch(&event)).await.batch_item_failures.is_empty());
    assert_eq!(summary(&app, &t).await["leads"]["total"], 0, "nothing counted");
}

/// Fails every `TransactWriteItems` before it reaches the table (the table is having a bad moment).
#[derive(Debug)]
struct TransactionsFail;

impl aws_smithy_runtime_api::client::interceptors::Intercept for TransactionsFail {
    fn name(&self) -> &'static str {
        "TransactionsFail"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        if cfg.load::<Metadata>().is_some_and(|m| m.name() == "TransactWriteItems") {
            return Err("injected: the table is unavailable".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_transient_failure_gives_the_claim_back_and_is_retried() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    // The counters consumer's table handle, recorded as its function's, with transactions failing.
    let sdk = keel_store::aws::sdk_config().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(keel_function::CallRecorder::new("DashboardCountersFunction", "dynamodb"))
        .interceptor(TransactionsFail)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let db = Db {
        client: aws_sdk_dynamodb::Client::from_conf(config),
        table: app.state.db.table.clone(),
        requests: Default::default(),
    };
    let harness = Harness::new(db.clone(), DashboardCounters { db });
    let event = lead_created_event(&t.id, 1, "Webinar");
    let response = harness.handle_batch(sqs_batch(&event)).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m-1"], "reported back for redelivery");
    let claim = TenantKeys::new(&t.id).key(&format!("CONSUMED#dashboard-counters#{}", event.event_id));
    let given_back = app.state.db.get(&claim, "IDEM").await.unwrap().expect("the claim");
    assert_eq!(given_back["lease_until"].as_n().unwrap(), "0", "the claim was given back at once");
    // The next delivery, with the table healthy again, applies it.
    let healthy = Harness::new(app.state.db.clone(), DashboardCounters { db: app.state.db.clone() });
    assert!(healthy.handle_batch(sqs_batch(&event)).await.batch_item_failures.is_empty());
    assert_eq!(summary(&app, &t).await["leads"]["total"], 1);
}

#[tokio::test]
async fn a_tenant_with_endless_sources_keeps_a_bounded_rollup() {
    let (app, harness) = dashboard().await;
    let t = app.tenant().await;
    let n = keel_dashboard::rollup::MAX_TRACKED_SOURCES as u32 + 30;
    for i in 0..n {
        let event = lead_created_event(&t.id, i, &format!("Partner site {i}"));
        assert_eq!(harness.apply(&event).await, Outcome::Applied, "event {i}");
    }
    let s = summary(&app, &t).await;
    assert_eq!(s["leads"]["total"], n);
    let by_source = s["leads"]["by_source"].as_object().unwrap();
    assert_eq!(by_source.len(), keel_dashboard::rollup::MAX_TRACKED_SOURCES + 1, "tracked sources + other");
    assert_eq!(by_source["(other)"], 30);
    assert_eq!(by_source.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), n as u64);
}

/// A consumer whose write is guarded by a version it read: its first `lose` attempts expect a
/// version someone else's write has moved past.
struct Optimistic {
    db: Db,
    lose: usize,
    attempts: Arc<std::sync::atomic::AtomicUsize>,
}

impl Consumer for Optimistic {
    fn name(&self) -> &'static str {
        "optimistic-test-consumer"
    }

    fn retries_conflicts(&self) -> bool {
        true
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let keys = TenantKeys::new(&event.tenant_id);
        let pk = keys.key(&format!("OPTIMISTIC#{}", event.event_id));
        let expected = if self.attempts.fetch_add(1, Ordering::SeqCst) < self.lose { 0 } else { 1 };
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.db.table)
            .item("pk", s(&pk))
            .item("sk", s("DONE"))
            .item("version", keel_store::db::n(2))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", keel_store::db::n(expected))
            .build()
            .unwrap();
        Ok(vec![TransactWriteItem::builder().put(put).build()])
    }
}

async fn optimistic(
    app: &TestApp,
    lose: usize,
) -> (Harness<Optimistic>, Envelope, Arc<std::sync::atomic::AtomicUsize>) {
    let t = app.tenant().await;
    let db = app.state.db.clone();
    let event = lead_created_event(&t.id, 1, "Webinar");
    let existing = keel_store::Item::from([
        ("pk".to_string(), s(TenantKeys::new(&t.id).key(&format!("OPTIMISTIC#{}", event.event_id)))),
        ("sk".to_string(), s("DONE")),
        ("version".to_string(), keel_store::db::n(1)),
    ]);
    db.client.put_item().table_name(&db.table).set_item(Some(existing)).send().await.unwrap();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    (Harness::new(db.clone(), Optimistic { db, lose, attempts: attempts.clone() }), event, attempts)
}

#[tokio::test]
async fn a_consumer_that_loses_a_race_reads_again_and_applies_once() {
    let app = keel_tests::app().await;
    let (harness, event, attempts) = optimistic(&app, 2).await;
    let message = sqs_batch(&event).records.remove(0);
    assert_eq!(harness.handle_message(&message).await, Outcome::Applied, "two lost races, then it applies");
    assert_eq!(harness.handle_message(&message).await, Outcome::Duplicate);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_consumer_that_keeps_losing_gives_the_event_back_to_the_queue() {
    let app = keel_tests::app().await;
    let (harness, event, attempts) = optimistic(&app, 100).await;
    let message = sqs_batch(&event).records.remove(0);
    assert!(matches!(harness.handle_message(&message).await, Outcome::Failed(_)), "a lost race is not a refusal");
    assert_eq!(attempts.load(Ordering::SeqCst), keel_worker::CONFLICT_ATTEMPTS as usize);
    let claim = TenantKeys::new(&event.tenant_id).key(&format!("CONSUMED#optimistic-test-consumer#{}", event.event_id));
    let given_back = app.state.db.get(&claim, "IDEM").await.unwrap().expect("the claim");
    assert_eq!(given_back["lease_until"].as_n().unwrap(), "0", "the next delivery may take it at once");
}

//! The relay against DynamoDB Local and moto's EventBridge, with an EventBridge client that
//! fails a chosen share of entries and whole calls: every outbox event still reaches the bus
//! exactly once, and a redelivered stream changes nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use keel_events::bus::{EntryOutcome, EventSink};
use keel_relay::Relay;
use keel_store::{outbox, Db};
use keel_tests::{lead_created_event, test_queues};
use serde_json::json;

/// Wraps the real client; fails entries (and sometimes whole calls) pseudo-randomly.
struct Faulty {
    inner: aws_sdk_eventbridge::Client,
    state: AtomicU64,
    fail_percent: u64,
}

impl Faulty {
    fn roll(&self) -> u64 {
        // xorshift: deterministic per run, no extra crate
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.store(x, Ordering::Relaxed);
        x % 100
    }
}

impl EventSink for Faulty {
    async fn put_events(&self, entries: Vec<PutEventsRequestEntry>) -> Vec<EntryOutcome> {
        if self.roll() < self.fail_percent / 3 {
            return vec![EntryOutcome::Failed("ThrottlingException (injected)".into()); entries.len()];
        }
        let fail: Vec<bool> = entries.iter().map(|_| self.roll() < self.fail_percent).collect();
        let send: Vec<PutEventsRequestEntry> =
            entries.iter().zip(&fail).filter(|(_, f)| !**f).map(|(e, _)| e.clone()).collect();
        let mut real =
            if send.is_empty() { Vec::new() } else { EventSink::put_events(&self.inner, send).await }.into_iter();
        fail.iter()
            .map(|f| if *f { EntryOutcome::Failed("InternalFailure (injected)".into()) } else { real.next().unwrap() })
            .collect()
    }
}

/// A table of the test's own (no stream, so nothing else relays from it).
async fn scratch_table(db: &Db) -> Db {
    let name = format!("relay-test-{}", ulid::Ulid::new());
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |n: &str, t| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    db.client
        .create_table()
        .table_name(&name)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    Db { client: db.client.clone(), table: name, requests: Default::default() }
}

fn stream_record(seq: usize, item: &keel_store::Item) -> EventRecord {
    let image = serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap();
    serde_json::from_value(json!({
        "eventID": format!("ev-{seq}"),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_615_200,
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": format!("{seq:021}"),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    }))
    .unwrap()
}

/// Delivers `records` the way the stream does: batches from the oldest unacknowledged record.
async fn deliver<S: EventSink>(relay: &Relay<S>, records: &[EventRecord]) -> usize {
    let mut rounds = 0;
    let mut from = 0;
    while from < records.len() {
        rounds += 1;
        assert!(rounds < 500, "the relay never got through");
        let batch = &records[from..(from + 100).min(records.len())];
        let mut event = Event::default();
        event.records = batch.to_vec();
        let response = relay.handle(event).await;
        match response.batch_item_failures.first().and_then(|f| f.item_identifier.clone()) {
            None => from += batch.len(),
            Some(seq) => from += batch.iter().position(|r| r.change.sequence_number.as_deref() == Some(&seq)).unwrap(),
        }
    }
    rounds
}

#[tokio::test]
async fn every_event_reaches_the_bus_exactly_once_despite_failures() {
    let base = Db::from_env().await.unwrap();
    let db = scratch_table(&base).await;
    let sdk = keel_store::aws::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = format!("relay-test-{}", ulid::Ulid::new());
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queues = test_queues(5).await;
    events
        .put_rule()
        .name("all-lead-events")
        .event_bus_name(&bus)
        .event_pattern(json!({"source": ["keel.leads"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all-lead-events")
        .event_bus_name(&bus)
        .targets(aws_sdk_eventbridge::types::Target::builder().id("q").arn(&queues.arn).build().unwrap())
        .send()
        .await
        .unwrap();

    const N: usize = 150;
    let mut records = Vec::new();
    let mut ids = Vec::new();
    for n in 0..N {
        let tenant = if n % 2 == 0 { "tenant-a" } else { "tenant-b" };
        let event = lead_created_event(tenant, n as u32, "Google Ads");
        ids.push(event.event_id.to_string());
        let item = outbox::put(&db.table, &event).unwrap().put.unwrap().item;
        db.transact(vec![outbox::put(&db.table, &event).unwrap()], None).await.unwrap();
        records.push(stream_record(n + 1, &item));
    }

    let relay = Relay::new(
        db.clone(),
        Faulty { inner: events.clone(), state: AtomicU64::new(0x9E37_79B9_7F4A_7C15), fail_percent: 60 },
        bus.clone(),
    )
    .with_first_backoff(Duration::from_millis(2));
    let rounds = deliver(&relay, &records).await;
    assert!(rounds > 2, "failures were injected often enough to hand batches back ({rounds} rounds)");
    // The stream delivering everything once more (a retried shard) publishes nothing again.
    let honest = Relay::new(db.clone(), events.clone(), bus.clone());
    deliver(&honest, &records).await;

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut quiet_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    while quiet_since.elapsed() < Duration::from_secs(2) || seen.len() < N {
        assert!(Instant::now() < deadline, "only {} of {N} events arrived", seen.len());
        let out = queues.sqs.receive_message().queue_url(&queues.url).max_number_of_messages(10).send().await.unwrap();
        let messages = out.messages.unwrap_or_default();
        if !messages.is_empty() {
            quiet_since = Instant::now();
        }
        for m in messages {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            *seen.entry(body["detail"]["event_id"].as_str().unwrap().to_string()).or_default() += 1;
            queues
                .sqs
                .delete_message()
                .queue_url(&queues.url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(seen.len(), N);
    for id in &ids {
        assert_eq!(seen.get(id), Some(&1), "event {id} published {:?} times", seen.get(id));
    }
    // Every event stays in its tenant's feed partition, and every outbox item is marked published.
    for tenant in ["tenant-a", "tenant-b"] {
        let feed = db
            .client
            .query()
            .table_name(&db.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", keel_store::db::s(keel_store::TenantKeys::new(tenant).events()))
            .send()
            .await
            .unwrap();
        assert_eq!(feed.count as usize, N / 2, "{tenant}");
    }
    for record in &records {
        let pk = record.change.new_image.get("pk").cloned();
        let image: keel_store::Item = record.change.new_image.clone().into();
        let item = db.get(image["pk"].as_s().unwrap(), image["sk"].as_s().unwrap()).await.unwrap().unwrap();
        assert!(item.contains_key("published_at"), "{pk:?}");
    }
}

#[tokio::test]
async fn records_that_are_not_new_outbox_events_are_ignored() {
    let base = Db::from_env().await.unwrap();
    let db = scratch_table(&base).await;
    let sdk = keel_store::aws::sdk_config().await;
    let relay = Relay::new(db.clone(), aws_sdk_eventbridge::Client::new(&sdk), "no-such-bus".into());
    let lead_item = keel_store::Item::from([
        ("pk".to_string(), keel_store::db::s("T#a#LEAD#1")),
        ("sk".to_string(), keel_store::db::s("LEAD")),
        ("entity".to_string(), keel_store::db::s("lead")),
    ]);
    let mut modify = stream_record(2, &lead_item);
    modify.event_name = "MODIFY".into();
    let mut event = Event::default();
    event.records = vec![stream_record(1, &lead_item), modify];
    // Publishing to a bus that does not exist would fail: nothing is published, nothing fails.
    assert!(relay.handle(event).await.batch_item_failures.is_empty());
}

/// Publishes every entry but the ones whose detail mentions `poison`, which EventBridge "rejects"
/// the way it rejects a malformed entry for good.
struct RejectsPoison(std::sync::Mutex<Vec<String>>);

impl EventSink for RejectsPoison {
    async fn put_events(&self, entries: Vec<PutEventsRequestEntry>) -> Vec<EntryOutcome> {
        entries
            .iter()
            .map(|e| {
                let detail = e.detail().unwrap_or_default();
                if detail.contains("poison") {
                    EntryOutcome::Rejected("MalformedDetail: injected".into())
                } else {
                    self.0.lock().unwrap().push(detail.to_string());
                    EntryOutcome::Published
                }
            })
            .collect()
    }
}

#[tokio::test]
async fn a_poison_event_is_parked_and_the_events_behind_it_go_on() {
    let base = Db::from_env().await.unwrap();
    let db = scratch_table(&base).await;
    let campaigns = ["first", "poison", "third"];
    let mut records = Vec::new();
    let mut events = Vec::new();
    for (n, campaign) in campaigns.iter().enumerate() {
        let mut event = lead_created_event("tenant-p", n as u32, "Referral");
        event.detail["campaign"] = json!(campaign);
        let put = outbox::put(&db.table, &event).unwrap();
        records.push(stream_record(n + 1, &put.put.clone().unwrap().item));
        db.transact(vec![put], None).await.unwrap();
        events.push(event);
    }
    let relay = Relay::new(db.clone(), RejectsPoison(Default::default()), "bus".into());
    let mut batch = Event::default();
    batch.records = records.clone();
    let response = relay.handle(batch).await;
    assert!(response.batch_item_failures.is_empty(), "the shard is not held back: {response:?}");

    // The poison event is parked with its reason; the others are published and marked.
    let keys = keel_store::TenantKeys::new("tenant-p");
    let poison_sk = format!("EVT#{}", events[1].event_id);
    let parked = db.get(&keys.key("RELAYPARKED"), &poison_sk).await.unwrap().expect("parked");
    assert!(parked["reason"].as_s().unwrap().contains("MalformedDetail"));
    for (event, marker) in events.iter().zip(["published_at", "parked_at", "published_at"]) {
        let item = db.get(&keys.events(), &format!("EVT#{}", event.event_id)).await.unwrap().unwrap();
        assert!(item.contains_key(marker), "{} lacks {marker}", event.event_id);
    }
    // Delivered again (the stream retried the shard): nothing is sent twice, the poison not again.
    let again = RejectsPoison(Default::default());
    let relay = Relay::new(db.clone(), again, "bus".into());
    let mut batch = Event::default();
    batch.records = records;
    assert!(relay.handle(batch).await.batch_item_failures.is_empty());
}

/// Fails every entry whose detail mentions `flaky`, transiently, forever.
struct AlwaysThrottlesFlaky;

impl EventSink for AlwaysThrottlesFlaky {
    async fn put_events(&self, entries: Vec<PutEventsRequestEntry>) -> Vec<EntryOutcome> {
        entries
            .iter()
            .map(|e| {
                if e.detail().unwrap_or_default().contains("flaky") {
                    EntryOutcome::Failed("ThrottlingException (injected)".into())
                } else {
                    EntryOutcome::Published
                }
            })
            .collect()
    }
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_parked_before_the_stream_gives_up_on_it() {
    let base = Db::from_env().await.unwrap();
    let db = scratch_table(&base).await;
    let mut records = Vec::new();
    let mut events = Vec::new();
    for (n, campaign) in ["flaky", "behind it"].iter().enumerate() {
        let mut event = lead_created_event("tenant-f", n as u32, "Referral");
        event.detail["campaign"] = json!(campaign);
        let put = outbox::put(&db.table, &event).unwrap();
        records.push(stream_record(n + 1, &put.put.clone().unwrap().item));
        db.transact(vec![put], None).await.unwrap();
        events.push(event);
    }
    let relay = Relay::new(db.clone(), AlwaysThrottlesFlaky, "bus".into()).with_first_backoff(Duration::from_millis(1));
    let deliver_once = || async {
        let mut batch = Event::default();
        batch.records = records.clone();
        relay.handle(batch).await.batch_item_failures.len()
    };
    // The stream hands the batch back while the event may still recover…
    for _ in 1..keel_relay::INVOCATIONS_BEFORE_PARKING {
        assert_eq!(deliver_once().await, 1, "handed back to be retried");
    }
    // …and then the relay parks it, with its envelope, and the event behind it is published.
    assert_eq!(deliver_once().await, 0, "no longer holding the shard");
    let keys = keel_store::TenantKeys::new("tenant-f");
    let parked = db.get(&keys.key("RELAYPARKED"), &format!("EVT#{}", events[0].event_id)).await.unwrap().unwrap();
    assert!(parked["reason"].as_s().unwrap().contains("ThrottlingException"));
    assert!(parked["envelope"].as_s().unwrap().contains(&events[0].event_id.to_string()));
    let behind = db.get(&keys.events(), &format!("EVT#{}", events[1].event_id)).await.unwrap().unwrap();
    assert!(behind.contains_key("published_at"));
}

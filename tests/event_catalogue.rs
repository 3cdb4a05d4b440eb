//! Every example in `events/` parses as what it claims to be, and the worker fixtures run
//! through the real handlers.

use keel_dashboard::DashboardCounters;
use keel_events::customers::{AccountChanged, ContactChanged};
use keel_events::deals::{DealChanged, DealWon};
use keel_events::delivery::BusDelivery;
use keel_events::lead::{LeadArchived, LeadConverted, LeadCreated, LeadQualified, LeadUpdated};
use keel_events::{ConsentChanged, DomainEvent, ImportRequested, RedriveRequested, TaskEscalated};
use keel_tests::summary;
use keel_worker::Harness;

const FIXTURE_COMPANY: &str = "01JCDEMOCOMPANY00000000000";

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn parse<T: DomainEvent + serde::de::DeserializeOwned>(name: &str) -> T {
    let delivery = BusDelivery::parse(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(delivery.detail_type, T::DETAIL_TYPE, "{name}");
    assert_eq!(delivery.detail.detail_type, T::DETAIL_TYPE, "{name}");
    assert_eq!(delivery.source, T::SOURCE, "{name}");
    assert_eq!(delivery.detail.version, T::VERSION, "{name}");
    serde_json::from_value(delivery.detail.detail).unwrap_or_else(|e| panic!("{name} detail: {e}"))
}

#[test]
fn every_eventbridge_example_parses_into_its_type() {
    let created: LeadCreated = parse("eventbridge-LeadCreated.json");
    assert_eq!(created.score, 25);
    let updated: LeadUpdated = parse("eventbridge-LeadUpdated.json");
    assert_eq!(updated.after.status.as_str(), "contacted");
    let archived: LeadArchived = parse("eventbridge-LeadArchived.json");
    assert_eq!(archived.previous_status.as_str(), "contacted");
    let qualified: LeadQualified = parse("eventbridge-LeadQualified.json");
    assert_eq!(qualified.score, 75);
    let converted: LeadConverted = parse("eventbridge-LeadConverted.json");
    assert!(converted.account_created);
    let account: AccountChanged = parse("eventbridge-AccountChanged.json");
    assert_eq!(account.previous_lifecycle.map(|l| l.as_str()), Some("prospect"));
    let contact: ContactChanged = parse("eventbridge-ContactChanged.json");
    assert_eq!(contact.change, "moved");
    let won: DealWon = parse("eventbridge-DealWon.json");
    assert_eq!(won.amount.map(|a| a.value_minor), Some(4_500_000));
    let changed: DealChanged = parse("eventbridge-DealChanged.json");
    assert_eq!((changed.change.as_str(), changed.before.map(|b| b.probability)), ("won", Some(80)));
    let escalated: TaskEscalated = parse("eventbridge-TaskEscalated.json");
    assert_eq!((escalated.level, escalated.notified.len()), (1, 1));
    let redrive: RedriveRequested = parse("eventbridge-RedriveRequested.json");
    assert_eq!(redrive.queue, "dashboard-counters");
    let import: ImportRequested = parse("eventbridge-ImportRequested.json");
    assert_eq!(import.leg, 0);
    let consent: ConsentChanged = parse("eventbridge-ConsentChanged.json");
    assert_eq!(consent.status, "withdrawn");
    let catalogue = include_str!("../docs/events.md");
    for name in std::fs::read_dir(format!("{}/../events", env!("CARGO_MANIFEST_DIR"))).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        if let Some(kind) = name.strip_prefix("eventbridge-").and_then(|n| n.strip_suffix(".json")) {
            assert!(catalogue.contains(&format!("`{kind}`")), "{kind} is missing from docs/events.md");
            assert!(include_str!("event_catalogue.rs").contains(&format!("\"{name}\"")), "{name} is not parsed here");
        }
    }
}

#[tokio::test]
async fn the_sqs_fixture_runs_through_the_dashboard_consumer() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let text = read("sqs-dashboard-counters.json").replace(FIXTURE_COMPANY, &t.id);
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&text).unwrap();
    let db = app.state.db.clone();
    let harness = Harness::new(db.clone(), DashboardCounters { db });
    assert!(harness.handle_batch(event.clone()).await.batch_item_failures.is_empty());
    // Delivered again (same event id): counted once.
    assert!(harness.handle_batch(event).await.batch_item_failures.is_empty());
    assert_eq!(summary(&app, &t).await["leads"]["total"], 1);
}

/// Keeps what the relay hands to the bus.
#[derive(Default)]
struct RecordingBus {
    entries: std::sync::Mutex<Vec<aws_sdk_eventbridge::types::PutEventsRequestEntry>>,
}

impl keel_events::bus::EventSink for RecordingBus {
    async fn put_events(
        &self,
        entries: Vec<aws_sdk_eventbridge::types::PutEventsRequestEntry>,
    ) -> Vec<keel_events::bus::EntryOutcome> {
        let n = entries.len();
        self.entries.lock().unwrap().extend(entries);
        vec![keel_events::bus::EntryOutcome::Published; n]
    }
}

#[tokio::test]
async fn the_stream_fixture_is_an_outbox_event_the_relay_publishes() {
    let text = read("dynamodb-stream-outbox.json");
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_str(&text).unwrap();
    let db = keel_store::Db::from_env().await.unwrap();
    let bus = std::env::var("KEEL_EVENT_BUS").unwrap();
    let sink = std::sync::Arc::new(RecordingBus::default());
    let relay = keel_relay::Relay::new(db, SharedSink(sink.clone()), bus.clone());
    assert!(relay.handle(event).await.batch_item_failures.is_empty());
    // The fixture's event reached the bus as it was committed: its envelope is the detail.
    let entries = sink.entries.lock().unwrap();
    assert_eq!(entries.len(), 1, "the relay published the fixture's event once");
    let entry = &entries[0];
    assert_eq!(entry.detail_type(), Some("LeadCreated"));
    assert_eq!(entry.source(), Some("keel.leads"));
    assert_eq!(entry.event_bus_name(), Some(bus.as_str()));
    let detail: serde_json::Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
    assert_eq!(detail["event_id"], "01JD7Z3KA0000000000000000A");
    assert_eq!(detail["tenant_id"], FIXTURE_COMPANY);
}

/// The relay owns its sink; the test keeps a handle on the same one.
struct SharedSink(std::sync::Arc<RecordingBus>);

impl keel_events::bus::EventSink for SharedSink {
    async fn put_events(
        &self,
        entries: Vec<aws_sdk_eventbridge::types::PutEventsRequestEntry>,
    ) -> Vec<keel_events::bus::EntryOutcome> {
        self.0.put_events(entries).await
    }
}

//! The outbox relay. The table's stream carries every outbox item (`entity = event`) the moment
//! its transaction commits; the relay publishes them to EventBridge and marks them published.
//!
//! - In order: a record that cannot be published stops the batch there and is reported as the
//!   batch item failure, so the stream retries from it and nothing after it is skipped or
//!   overtakes it.
//! - Only the failed entries of a `PutEvents` call are retried, with backoff.
//! - Once: published events are marked (`published_at`) after EventBridge accepted them; a
//!   redelivered stream record whose event is already marked is not published again. Nothing is
//!   marked that EventBridge did not accept.
//! - Never stalled by one event: an event EventBridge rejects for good (malformed, too large) is
//!   parked — kept under `T#<tenant>#RELAYPARKED` with the reason, its outbox item marked
//!   `parked_at` — and the events behind it go on. Transient failures are handed back to the
//!   stream, which retries a bounded number of times (template.yaml `MaximumRetryAttempts`) and
//!   then sends the batch's position to the on-failure queue.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem, Update};
use keel_events::bus::{entry, EntryOutcome, EventSink, MAX_ENTRIES_PER_CALL, MAX_ENTRY_BYTES};
use keel_events::Envelope;
use keel_function::{Function, StreamHandler, Trigger};
use keel_store::db::s;
use keel_store::relay_status::{self, RelayHeartbeat};
use keel_store::{AttributeValue, Db, Item};

/// Attempts per entry within one invocation before the batch is handed back to the stream.
const ATTEMPTS: u32 = 6;
/// Invocations an event may fail transiently in before it is parked (below the event source's
/// `MaximumRetryAttempts`, so the relay parks it before Lambda would skip the batch).
pub const INVOCATIONS_BEFORE_PARKING: u64 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

pub struct Relay<S: EventSink> {
    db: Db,
    sink: S,
    bus: String,
    first_backoff: Duration,
}

/// An outbox event found in the stream.
struct Pending {
    sequence: String,
    pk: String,
    sk: String,
    json: String,
    envelope: Envelope,
}

impl<S: EventSink> Relay<S> {
    pub fn new(db: Db, sink: S, bus: String) -> Self {
        Relay { db, sink, bus, first_backoff: FIRST_BACKOFF }
    }

    /// Shorter waits between retries (tests drive thousands of injected failures).
    pub fn with_first_backoff(mut self, backoff: Duration) -> Self {
        self.first_backoff = backoff;
        self
    }

    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let pending: Vec<Pending> = event.records.iter().filter_map(outbox_event).collect();
        let mut response = DynamoDbEventResponse::default();
        if pending.is_empty() {
            return response;
        }
        let already = match self.already_published(&pending).await {
            Ok(set) => set,
            Err(e) => {
                // Cannot tell what is published: retry the whole batch rather than risk doubles.
                tracing::warn!(error = %e, "relay could not read publication marks");
                response.batch_item_failures.push(failure(&pending[0].sequence));
                return response;
            }
        };
        let todo: Vec<&Pending> = pending.iter().filter(|p| !already.contains(&(p.pk.clone(), p.sk.clone()))).collect();
        let oldest = todo.iter().map(|p| p.envelope.occurred_at).min();
        let mut published_count = 0u64;
        for chunk in todo.chunks(MAX_ENTRIES_PER_CALL) {
            let outcomes = self.publish(chunk).await;
            let delivered: Vec<&Pending> = chunk
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| matches!(o, EntryOutcome::Published))
                .map(|(p, _)| *p)
                .collect();
            self.mark_published(&delivered).await;
            published_count += delivered.len() as u64;
            for (p, outcome) in chunk.iter().zip(&outcomes) {
                if let EntryOutcome::Rejected(why) = outcome {
                    if let Err(e) = self.park(p, why).await {
                        // Not parked: hand it back rather than lose it.
                        tracing::warn!(error = %e, event_id = %p.envelope.event_id, "relay could not park an event");
                        response.batch_item_failures.push(failure(&p.sequence));
                        return response;
                    }
                }
            }
            let mut handed_back = false;
            for (p, outcome) in chunk.iter().zip(&outcomes) {
                let EntryOutcome::Failed(why) = outcome else { continue };
                // Counted on the outbox item, so the count survives the invocation: an event that
                // keeps failing is parked (kept, with its envelope, to publish later) rather than
                // holding its shard until the stream's own retries give up and skip it unseen.
                match self.count_attempt(p).await {
                    Ok(attempts) if attempts >= INVOCATIONS_BEFORE_PARKING => {
                        let reason = format!("still failing after {attempts} invocations: {why}");
                        if self.park(p, &reason).await.is_ok() {
                            continue;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "relay could not count a failed attempt"),
                }
                tracing::warn!(sequence = %p.sequence, "relay hands the batch back to the stream");
                response.batch_item_failures.push(failure(&p.sequence));
                handed_back = true;
                break;
            }
            if handed_back {
                break;
            }
        }
        if let (Some(oldest), true) = (oldest, published_count > 0) {
            self.heartbeat(oldest, published_count).await;
        }
        response
    }

    /// Records when the relay last published and how far behind commits it was.
    async fn heartbeat(&self, oldest: chrono::DateTime<chrono::Utc>, count: u64) {
        let now = chrono::Utc::now();
        let beat = RelayHeartbeat {
            last_published_at: now.to_rfc3339(),
            lag_ms: (now - oldest).num_milliseconds().max(0),
            last_batch_size: count,
        };
        if let Err(e) = relay_status::record(&self.db, &beat).await {
            tracing::warn!(error = %e, "relay heartbeat not recorded");
        }
    }

    /// Publishes a chunk, retrying only the entries that failed transiently. Returns each entry's
    /// final outcome.
    async fn publish(&self, chunk: &[&Pending]) -> Vec<EntryOutcome> {
        let mut outcomes: Vec<EntryOutcome> = chunk
            .iter()
            .map(|p| {
                if p.json.len() > MAX_ENTRY_BYTES {
                    EntryOutcome::Rejected(format!("{} bytes, more than PutEvents takes", p.json.len()))
                } else {
                    EntryOutcome::Failed("not sent yet".into())
                }
            })
            .collect();
        let mut backoff = self.first_backoff;
        for attempt in 1..=ATTEMPTS {
            let open: Vec<usize> =
                (0..chunk.len()).filter(|i| matches!(outcomes[*i], EntryOutcome::Failed(_))).collect();
            if open.is_empty() {
                break;
            }
            let entries = open.iter().map(|i| entry(&self.bus, &chunk[*i].json, &chunk[*i].envelope)).collect();
            let answers = self.sink.put_events(entries).await;
            for (i, outcome) in open.iter().zip(answers) {
                if let EntryOutcome::Failed(why) = &outcome {
                    tracing::debug!(attempt, event_id = %chunk[*i].envelope.event_id, %why, "put failed");
                }
                outcomes[*i] = outcome;
            }
            if attempt < ATTEMPTS && outcomes.iter().any(|o| matches!(o, EntryOutcome::Failed(_))) {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        outcomes
    }

    /// One more failed invocation for this event; returns how many there have been.
    async fn count_attempt(&self, p: &Pending) -> Result<u64, keel_store::StoreError> {
        let out = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .key("pk", s(&p.pk))
            .key("sk", s(&p.sk))
            .update_expression("ADD relay_attempts :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", keel_store::db::n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(keel_store::StoreError::from_sdk)?;
        Ok(out
            .attributes
            .and_then(|a| a.get("relay_attempts").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }

    /// Keeps an event EventBridge will not take (rejected, or failing invocation after invocation),
    /// with the reason and its envelope to publish later, and marks its outbox item so the relay
    /// does not try it again.
    async fn park(&self, p: &Pending, why: &str) -> Result<(), keel_store::StoreError> {
        tracing::error!(event_id = %p.envelope.event_id, tenant_id = %p.envelope.tenant_id, reason = %why, "event parked");
        let keys = keel_store::TenantKeys::new(&p.envelope.tenant_id);
        let now = chrono::Utc::now();
        let parked = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.db.table)
            .item("pk", s(keys.key("RELAYPARKED")))
            .item("sk", s(&p.sk))
            .item("entity", s("relay_parked"))
            .item("reason", s(why))
            .item("detail_type", s(&p.envelope.detail_type))
            .item("envelope", s(&p.json))
            .item("parked_at", s(now.to_rfc3339()))
            .item("expires_at", keel_store::db::n((now + chrono::Duration::days(30)).timestamp()))
            .build()
            .expect("table and item are set");
        let mark = Update::builder()
            .table_name(&self.db.table)
            .key("pk", s(&p.pk))
            .key("sk", s(&p.sk))
            .update_expression("SET parked_at = :t")
            .expression_attribute_values(":t", s(now.to_rfc3339()))
            .build()
            .expect("table, key and expression are set");
        self.db
            .transact(
                vec![
                    TransactWriteItem::builder().put(parked).build(),
                    TransactWriteItem::builder().update(mark).build(),
                ],
                None,
            )
            .await
    }

    async fn already_published(&self, pending: &[Pending]) -> Result<HashSet<(String, String)>, String> {
        let mut found = HashSet::new();
        for chunk in pending.chunks(100) {
            let mut keys: Vec<Item> = Vec::new();
            for p in chunk {
                let key = Item::from([("pk".to_string(), s(&p.pk)), ("sk".to_string(), s(&p.sk))]);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .projection_expression("pk, sk, published_at, parked_at")
                    .build()
                    .map_err(|e| e.to_string())?,
            );
            while let Some(req) = request.take() {
                let out = self
                    .db
                    .client
                    .batch_get_item()
                    .request_items(&self.db.table, req)
                    .send()
                    .await
                    .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
                for item in out.responses.unwrap_or_default().remove(&self.db.table).unwrap_or_default() {
                    // Published, or parked for good: either way not to be sent again.
                    if item.contains_key("published_at") || item.contains_key("parked_at") {
                        let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                        found.insert((get("pk"), get("sk")));
                    }
                }
                request = out.unprocessed_keys.and_then(|mut u| u.remove(&self.db.table));
            }
        }
        Ok(found)
    }

    /// Marks events published. A failure here only risks a second publication of the same event
    /// id (consumers are idempotent by id), so it is logged and not retried by the stream.
    async fn mark_published(&self, delivered: &[&Pending]) {
        let now = chrono::Utc::now().to_rfc3339();
        for chunk in delivered.chunks(100) {
            let items: Vec<TransactWriteItem> = chunk
                .iter()
                .map(|p| {
                    let update = Update::builder()
                        .table_name(&self.db.table)
                        .key("pk", s(&p.pk))
                        .key("sk", s(&p.sk))
                        .update_expression("SET published_at = :t")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(":t", AttributeValue::S(now.clone()))
                        .build()
                        .expect("table, key and expression are set");
                    TransactWriteItem::builder().update(update).build()
                })
                .collect();
            if let Err(e) = self.db.transact(items, None).await {
                tracing::warn!(error = %e, "relay could not mark events published");
            }
        }
    }
}

fn failure(sequence: &str) -> DynamoDbBatchItemFailure {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = Some(sequence.to_string());
    f
}

/// The outbox event a stream record inserted, if it is one.
fn outbox_event(record: &EventRecord) -> Option<Pending> {
    if record.event_name != "INSERT" {
        return None; // the relay's own `published_at` marks arrive as MODIFY
    }
    let image: Item = record.change.new_image.clone().into();
    let text = |k: &str| image.get(k).and_then(|v| v.as_s().ok()).cloned();
    if text("entity").as_deref() != Some("event") {
        return None;
    }
    let json = text("envelope")?;
    let envelope = match serde_json::from_str::<Envelope>(&json) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "outbox item with an unreadable envelope skipped");
            return None;
        }
    };
    Some(Pending {
        sequence: record.change.sequence_number.clone().unwrap_or_default(),
        pk: text("pk")?,
        sk: text("sk")?,
        json,
        envelope,
    })
}

/// The outbox relay Lambda, triggered by the table's stream.
pub fn function() -> Function {
    Function {
        logical_id: "RelayFunction",
        trigger: Trigger::Stream {
            handler: |runtime| {
                Box::pin(async move {
                    let bus = keel_http::Settings::from_env()?.event_bus;
                    let relay = Arc::new(Relay::new(runtime.db()?, runtime.eventbridge(), bus));
                    let handler: StreamHandler = Arc::new(move |event| {
                        let relay = relay.clone();
                        Box::pin(async move { relay.handle(event).await })
                    });
                    Ok(handler)
                })
            },
        },
        aws_calls: &["dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "events:PutEvents"],
        writes_events: false,
    }
}

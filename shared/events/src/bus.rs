//! Publishing to the EventBridge bus. The relay is the only publisher; it goes through
//! [`EventSink`] so tests can wrap the real client with faults.

use std::future::Future;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::Envelope;

/// `PutEvents` takes at most this many entries.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// What a sink reports for one entry of a `PutEvents` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    Published,
    /// Not published; worth trying again (throttling, an internal failure, no answer).
    Failed(String),
    /// Not published, and never will be as it is (malformed or too large): retrying it would
    /// only hold back every event behind it.
    Rejected(String),
}

/// `PutEvents` per-entry error codes that a retry can cure; every other code is the entry's own
/// fault (EventBridge documents `ThrottlingException` and `InternalFailure` as the transient ones).
const TRANSIENT_ENTRY_ERRORS: [&str; 3] = ["ThrottlingException", "InternalFailure", "InternalException"];

/// The largest entry `PutEvents` takes.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// Something that accepts up to [`MAX_ENTRIES_PER_CALL`] bus entries and says which made it.
pub trait EventSink: Send + Sync {
    fn put_events(&self, entries: Vec<PutEventsRequestEntry>) -> impl Future<Output = Vec<EntryOutcome>> + Send;
}

impl EventSink for aws_sdk_eventbridge::Client {
    async fn put_events(&self, entries: Vec<PutEventsRequestEntry>) -> Vec<EntryOutcome> {
        let count = entries.len();
        match self.put_events().set_entries(Some(entries)).send().await {
            Ok(out) => {
                let mut outcomes: Vec<EntryOutcome> = out
                    .entries()
                    .iter()
                    .map(|e| match e.error_code() {
                        Some(code) if TRANSIENT_ENTRY_ERRORS.contains(&code) => EntryOutcome::Failed(code.to_string()),
                        Some(code) => {
                            EntryOutcome::Rejected(format!("{code}: {}", e.error_message().unwrap_or_default()))
                        }
                        None => EntryOutcome::Published,
                    })
                    .collect();
                // A response without one result per entry proves nothing about the missing ones.
                outcomes.resize(count, EntryOutcome::Failed("no result for entry".into()));
                outcomes
            }
            Err(e) => {
                let why = format!("{}", aws_sdk_eventbridge::error::DisplayErrorContext(&e));
                vec![EntryOutcome::Failed(why); count]
            }
        }
    }
}

/// The bus entry for an event: the envelope is the `detail`, so consumers and integrations see
/// tenant, id, time, actor and version alongside the payload.
pub fn entry(bus: &str, envelope_json: &str, envelope: &Envelope) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(&envelope.source)
        .detail_type(&envelope.detail_type)
        .detail(envelope_json)
        .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(envelope.occurred_at.timestamp_millis()))
        .build()
}

//! The harness every SQS-triggered consumer runs in.
//!
//! For each message of a batch: parse the bus event, claim the event for this consumer with an
//! idempotency record (conditional put: `IN_PROGRESS` with a lease), run the typed handler, then
//! commit the handler's writes together with the record's move to `COMPLETED` in one transaction
//! (conditional on still holding the claim). So:
//! - a redelivered event finds `COMPLETED` and changes nothing;
//! - two consumers racing on one event: one claims, the other backs off and is retried later;
//! - a consumer that dies mid-way loses its lease, and the next delivery takes over;
//! - a handler's refusal (an event it can never apply: unreadable, or its own writes' conditions
//!   fail) is recorded on the claim (`REFUSED`, with the reason) and acknowledged: retrying it
//!   would only walk it to the dead-letter queue and hide the reason;
//! - transient failures are reported per message (`ReportBatchItemFailures`), never for the whole
//!   batch, and retried through the queue.

pub mod redrive;

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{Duration, Utc};
use keel_events::delivery::BusDelivery;
use keel_events::Envelope;
use keel_store::db::{n, s};
use keel_store::{Db, StoreError, TenantKeys};

/// How long a claim protects an event from other consumers. Longer than any handler runs
/// (functions time out at 10 s), shorter than the queue's visibility timeout (60 s).
pub const LEASE_SECONDS: i64 = 30;
/// Completed records outlive every redelivery path: SQS keeps messages 4 days, EventBridge
/// retries for 24 hours, and a dead-letter queue keeps them 14 days, from where an operator may
/// redrive them (an event that committed and then timed out must still find its record).
pub const COMPLETED_RETENTION_DAYS: i64 = 15;
/// Attempts within one delivery for a consumer whose writes lost a race (`retries_conflicts`).
pub const CONFLICT_ATTEMPTS: u32 = 4;

/// Why a handler did not finish.
#[derive(Debug)]
pub enum HandlerError {
    /// Transient (the table was busy, a dependency was down): retried through the queue; a message
    /// that keeps failing reaches the dead-letter queue after `maxReceiveCount` receives.
    Retry(String),
    /// The event can never be applied as it is (unreadable, breaks a rule): recorded with the
    /// reason and acknowledged, never retried.
    Refuse(String),
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        HandlerError::Retry(e.to_string())
    }
}

/// A consumer: given one event, the writes that apply it. The harness commits them atomically
/// with the event's completion.
pub trait Consumer: Send + Sync {
    /// Names the consumer in idempotency keys and logs (one record per consumer per event).
    fn name(&self) -> &'static str;

    fn handle(&self, event: &Envelope) -> impl Future<Output = Result<Vec<TransactWriteItem>, HandlerError>> + Send;

    /// Whether a failed condition on the handler's writes means "someone changed what I read"
    /// (optimistic writes guarded by versions: retried, and the handler decides again on fresh
    /// reads) rather than "this event can never apply" (refused). Retries are bounded by the
    /// queue's `maxReceiveCount`.
    fn retries_conflicts(&self) -> bool {
        false
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Already completed earlier: nothing done.
    Duplicate,
    /// Claimed by another consumer right now: retry later.
    Busy,
    /// The handler refused it for good; the refusal is recorded with its reason.
    Refused(String),
    Failed(String),
}

impl Outcome {
    pub fn acknowledged(&self) -> bool {
        matches!(self, Outcome::Applied | Outcome::Duplicate | Outcome::Refused(_))
    }
}

pub struct Harness<C: Consumer> {
    pub db: Db,
    pub consumer: C,
}

impl<C: Consumer> Harness<C> {
    pub fn new(db: Db, consumer: C) -> Self {
        Harness { db, consumer }
    }

    /// Processes a batch, its messages concurrently (each is claimed on its own, and consumers'
    /// writes commute); the response lists the messages to be delivered again.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let outcomes = futures::future::join_all(event.records.iter().map(|m| self.handle_message(m))).await;
        for (message, outcome) in event.records.iter().zip(outcomes) {
            if !outcome.acknowledged() {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    pub async fn handle_message(&self, message: &SqsMessage) -> Outcome {
        let body = message.body.as_deref().unwrap_or_default();
        let delivery = match BusDelivery::parse(body) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(consumer = self.consumer.name(), error = %e, "unreadable message");
                return Outcome::Failed(e);
            }
        };
        let outcome = self.apply(&delivery.detail).await;
        let event = &delivery.detail;
        match &outcome {
            Outcome::Failed(e) => tracing::warn!(
                consumer = self.consumer.name(), event_id = %event.event_id, tenant_id = %event.tenant_id, error = %e, "event not applied"
            ),
            Outcome::Refused(why) => tracing::error!(
                consumer = self.consumer.name(), event_id = %event.event_id, tenant_id = %event.tenant_id, reason = %why, "event refused"
            ),
            other => tracing::info!(
                consumer = self.consumer.name(), event_id = %event.event_id, tenant_id = %event.tenant_id, outcome = ?other, "event handled"
            ),
        }
        outcome
    }

    /// Claim, handle, complete.
    pub async fn apply(&self, event: &Envelope) -> Outcome {
        let keys = TenantKeys::new(&event.tenant_id);
        let pk = keys.key(&format!("CONSUMED#{}#{}", self.consumer.name(), event.event_id));
        let owner = ulid::Ulid::new().to_string();
        let now = Utc::now();
        let claim = self
            .db
            .client
            .put_item()
            .table_name(&self.db.table)
            .item("pk", s(&pk))
            .item("sk", s("IDEM"))
            .item("entity", s("consumed"))
            .item("status", s("IN_PROGRESS"))
            .item("owner", s(&owner))
            .item("lease_until", n((now + Duration::seconds(LEASE_SECONDS)).timestamp()))
            .item("expires_at", n((now + Duration::days(COMPLETED_RETENTION_DAYS)).timestamp()))
            .condition_expression("attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s("IN_PROGRESS"))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        if let Err(e) = claim {
            use aws_sdk_dynamodb::operation::put_item::PutItemError;
            let held = match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => Some(c.item.clone()),
                _ => None,
            };
            return match held {
                // Decided before (applied or refused): nothing to do again.
                Some(Some(item))
                    if matches!(
                        item.get("status").and_then(|v| v.as_s().ok()).map(String::as_str),
                        Some("COMPLETED" | "REFUSED")
                    ) =>
                {
                    Outcome::Duplicate
                }
                Some(_) => Outcome::Busy,
                None => Outcome::Failed(StoreError::from_sdk(e).to_string()),
            };
        }
        // A consumer that lost a race reads again and retries at once while it holds the claim
        // (events for one record arriving in one batch settle here), then through the queue.
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let mut writes = match self.consumer.handle(event).await {
                Ok(w) => w,
                Err(HandlerError::Retry(why)) => {
                    self.release(&pk, &owner).await;
                    return Outcome::Failed(why);
                }
                Err(HandlerError::Refuse(why)) => return self.refuse(&pk, &owner, why).await,
            };
            let handler_items = writes.len();
            writes.push(TransactWriteItem::builder().update(self.completion(&pk, &owner)).build());
            match self.db.transact(writes, None).await {
                Ok(()) => return Outcome::Applied,
                Err(StoreError::Cancelled(reasons)) => {
                    let failed: Vec<usize> =
                        reasons.iter().enumerate().filter(|(_, r)| r.condition_failed()).map(|(i, _)| i).collect();
                    if failed.iter().any(|i| *i >= handler_items) {
                        // Our lease ran out and someone else took the event over: theirs to finish.
                        return Outcome::Busy;
                    }
                    if !self.consumer.retries_conflicts() {
                        // The handler's own conditions refuse the event: it would fail the same way again.
                        let why = format!("the consumer's writes {failed:?} failed their conditions");
                        return self.refuse(&pk, &owner, why).await;
                    }
                    if attempt == CONFLICT_ATTEMPTS {
                        // Still losing: let the queue bring it back later.
                        self.release(&pk, &owner).await;
                        return Outcome::Failed(format!("the consumer's writes {failed:?} kept losing races"));
                    }
                    // Spread the racers out before they read again.
                    let pause = 10 * attempt as u64 + (ulid::Ulid::new().random() % 20) as u64;
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                Err(e) => {
                    self.release(&pk, &owner).await;
                    return Outcome::Failed(e.to_string());
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Moves the claim to `COMPLETED`, in the transaction of the handler's writes, as long as we
    /// still hold it.
    fn completion(&self, pk: &str, owner: &str) -> Update {
        Update::builder()
            .table_name(&self.db.table)
            .key("pk", s(pk))
            .key("sk", s("IDEM"))
            .update_expression("SET #status = :completed, completed_at = :at REMOVE lease_until")
            .condition_expression("#status = :in_progress AND #owner = :me")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":completed", s("COMPLETED"))
            .expression_attribute_values(":in_progress", s("IN_PROGRESS"))
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":at", s(Utc::now().to_rfc3339()))
            .build()
            .expect("table, key and expressions are set")
    }

    /// Records a refusal on the claim, so redeliveries find it decided and the reason is kept.
    async fn refuse(&self, pk: &str, owner: &str, why: String) -> Outcome {
        let recorded = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .key("pk", s(pk))
            .key("sk", s("IDEM"))
            .update_expression("SET #status = :refused, reason = :why REMOVE lease_until")
            .condition_expression("#status = :in_progress AND #owner = :me")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":refused", s("REFUSED"))
            .expression_attribute_values(":why", s(&why))
            .expression_attribute_values(":in_progress", s("IN_PROGRESS"))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match recorded {
            Ok(_) => Outcome::Refused(why),
            // Not recorded (lost the lease, or the table is busy): let the queue bring it back.
            Err(e) => Outcome::Failed(format!("refusal not recorded: {}", StoreError::from_sdk(e))),
        }
    }

    /// Gives a claim back early, so the next delivery need not wait for the lease to run out: the
    /// lease is ended in place (an update, so consumers need no permission to delete).
    async fn release(&self, pk: &str, owner: &str) {
        let _ = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .key("pk", s(pk))
            .key("sk", s("IDEM"))
            .update_expression("SET lease_until = :ended")
            .condition_expression("#status = :in_progress AND #owner = :me")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":ended", n(0))
            .expression_attribute_values(":in_progress", s("IN_PROGRESS"))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
    }
}

/// A `Put` addressed to the consumer's table, for handlers building their writes.
pub fn put(db: &Db, item: keel_store::Item) -> TransactWriteItem {
    keel_store::db::put(&db.table, item)
}

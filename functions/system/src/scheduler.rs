//! The scheduler: every minute, what has come due in the due-time index goes to the queue of its
//! kind, in bounded batches, and leaves the index. It reads only due entries (never a company's
//! records) and hands each one off as a bus-shaped event whose id is fixed by the work and its due
//! time, so a run that dies after sending, or two runs at once, hand work off twice and the
//! consumer's idempotency record applies it once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use keel_events::{Actor, Envelope};
use keel_store::due::{self, DueKind, DueWork, SHARDS};
use keel_store::Db;
use serde::Serialize;
use serde_json::json;

/// The queues due work goes to (every `DueKind::queue`), for the function's declaration.
pub const FEEDS: &[&str] = &["TaskWorkQueue"];

/// The `source` of the events the scheduler hands off.
pub const SOURCE_SCHEDULER: &str = "keel.scheduler";
/// Entries read per Query.
const PAGE: i32 = 100;
/// Pages per shard per run, and how long a run may page: it ends well inside its 60 s timeout and
/// leaves the rest to the next minute.
const PAGES: usize = 200;
const RUN_SECONDS: u64 = 40;
/// Entries one company may hand off per shard per run: past it, its entries wait for the next run
/// and the run pages on to other companies' work, so one company's backlog never starves the rest.
const PER_COMPANY: usize = 1_000;

/// The environment variable holding the URL of a due kind's queue (`TaskWorkQueue` →
/// `KEEL_DUE_QUEUE_TASK_WORK_QUEUE`).
pub fn queue_variable(queue: &str) -> String {
    let mut out = String::from("KEEL_DUE_QUEUE");
    for c in queue.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub struct Scheduler {
    db: Db,
    sqs: aws_sdk_sqs::Client,
    queues: HashMap<DueKind, String>,
    per_company: usize,
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Entries sent to their queue and removed from the index.
    pub handed_off: usize,
    /// Entries left for the next run because their queue refused them or is not configured.
    pub left: usize,
    /// Entries left for the next run because their company had its share of this run.
    pub deferred: usize,
    /// Queries of the index.
    pub pages: usize,
    /// `SendMessageBatch` calls.
    pub batches: usize,
    /// Time spent waiting on DynamoDB (Queries and deletes) and on SQS, summed over the shards,
    /// in microseconds: where a run's time goes.
    pub dynamodb_us: u64,
    pub sqs_us: u64,
}

impl std::ops::AddAssign for RunSummary {
    fn add_assign(&mut self, o: RunSummary) {
        self.handed_off += o.handed_off;
        self.left += o.left;
        self.deferred += o.deferred;
        self.pages += o.pages;
        self.batches += o.batches;
        self.dynamodb_us += o.dynamodb_us;
        self.sqs_us += o.sqs_us;
    }
}

/// The bus event a queue's consumer receives for one piece of due work.
pub fn delivery(work: &DueWork) -> serde_json::Value {
    let envelope = Envelope {
        event_id: work.event_id(),
        detail_type: work.kind.detail_type().into(),
        source: SOURCE_SCHEDULER.into(),
        version: 1,
        tenant_id: work.tenant_id.clone(),
        occurred_at: work.due_at,
        actor: Actor { user_id: "scheduler".into(), role: "system".into() },
        detail: json!({ "reference": work.reference, "due_at": work.due_at }),
    };
    json!({
        "version": "0",
        "id": work.event_id().to_string(),
        "detail-type": work.kind.detail_type(),
        "source": SOURCE_SCHEDULER,
        "time": work.due_at,
        "resources": [],
        "detail": envelope,
    })
}

impl Scheduler {
    /// Queue URLs from `KEEL_DUE_QUEUE_*`.
    pub fn from_env(db: Db, sqs: aws_sdk_sqs::Client) -> Scheduler {
        let queues = DueKind::ALL
            .into_iter()
            .filter_map(|k| std::env::var(queue_variable(k.queue())).ok().map(|url| (k, url)))
            .collect();
        Scheduler { db, sqs, queues, per_company: PER_COMPANY }
    }

    /// The entries one company may hand off per shard per run (tests show the sharing with a few).
    pub fn with_company_share(mut self, per_company: usize) -> Scheduler {
        self.per_company = per_company;
        self
    }

    /// Hands off everything due at `now`, shard by shard in parallel.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<RunSummary, String> {
        let deadline = Instant::now() + Duration::from_secs(RUN_SECONDS);
        let runs = join_all((0..SHARDS).map(|shard| self.run_shard(shard, now, deadline))).await;
        let mut total = RunSummary::default();
        for run in runs {
            total += run?;
        }
        if total.handed_off > 0 || total.left > 0 || total.deferred > 0 {
            tracing::info!(
                handed_off = total.handed_off,
                left = total.left,
                deferred = total.deferred,
                pages = total.pages,
                "scheduler run"
            );
        }
        Ok(total)
    }

    async fn run_shard(&self, shard: u32, now: DateTime<Utc>, deadline: Instant) -> Result<RunSummary, String> {
        let mut summary = RunSummary::default();
        let mut per_company: HashMap<String, usize> = HashMap::new();
        let mut start = None;
        for _ in 0..PAGES {
            if Instant::now() >= deadline {
                break;
            }
            let asked = Instant::now();
            let page = due::due(&self.db, shard, now, PAGE, start).await.map_err(|e| e.to_string())?;
            summary.dynamodb_us += asked.elapsed().as_micros() as u64;
            summary.pages += 1;
            let mut sent = page.unreadable;
            let mut mine = Vec::new();
            for w in page.work {
                let n = per_company.entry(w.tenant_id.clone()).or_default();
                if *n >= self.per_company {
                    summary.deferred += 1;
                } else {
                    *n += 1;
                    mine.push(w);
                }
            }
            let sending = Instant::now();
            for (kind, batch) in by_kind(mine) {
                let (ok, failed, batches) = self.send(kind, batch).await;
                sent.extend(ok.iter().map(DueWork::key));
                summary.left += failed;
                summary.batches += batches;
            }
            summary.sqs_us += sending.elapsed().as_micros() as u64;
            summary.handed_off += sent.len();
            let removing = Instant::now();
            due::remove(&self.db, sent).await.map_err(|e| e.to_string())?;
            summary.dynamodb_us += removing.elapsed().as_micros() as u64;
            // Entries that stay (refused, deferred) are paged past, never read again this run.
            match page.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        Ok(summary)
    }

    /// Sends `work` to `kind`'s queue, 10 a message batch: what was sent, how many were not, and
    /// the calls made.
    async fn send(&self, kind: DueKind, work: Vec<DueWork>) -> (Vec<DueWork>, usize, usize) {
        let Some(url) = self.queues.get(&kind) else {
            tracing::error!(kind = kind.as_str(), queue = kind.queue(), "no queue configured for due work");
            return (Vec::new(), work.len(), 0);
        };
        let mut sent = Vec::new();
        let mut failed = 0;
        let mut calls = 0;
        for chunk in work.chunks(10) {
            calls += 1;
            let entries: Vec<SendMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(delivery(w).to_string())
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            match self.sqs.send_message_batch().queue_url(url).set_entries(Some(entries)).send().await {
                Ok(out) => {
                    let refused: Vec<usize> = out.failed.iter().filter_map(|f| f.id.parse().ok()).collect();
                    for (i, w) in chunk.iter().enumerate() {
                        if refused.contains(&i) {
                            failed += 1;
                        } else {
                            sent.push(w.clone());
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), queue = kind.queue(), "due work not handed off");
                    failed += chunk.len();
                }
            }
        }
        (sent, failed, calls)
    }
}

fn by_kind(work: Vec<DueWork>) -> HashMap<DueKind, Vec<DueWork>> {
    let mut out: HashMap<DueKind, Vec<DueWork>> = HashMap::new();
    for w in work {
        out.entry(w.kind).or_default().push(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declaration_names_every_queue_due_work_goes_to() {
        let mut kinds: Vec<&str> = DueKind::ALL.iter().map(|k| k.queue()).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds, FEEDS);
    }

    #[test]
    fn queues_are_named_after_their_logical_ids() {
        assert_eq!(queue_variable("TaskWorkQueue"), "KEEL_DUE_QUEUE_TASK_WORK_QUEUE");
    }
}

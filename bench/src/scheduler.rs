//! (l) The scheduler: due entries handed off per second, and DynamoDB requests and items read per
//! due entry, with 2,000 entries of 20 companies due at once.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use futures::StreamExt;
use keel_store::due::{DueKind, DueWork, SHARDS};
use keel_system::Scheduler;

const COMPANIES: usize = 20;
const PER_COMPANY: usize = 100;

pub async fn scheduler() -> String {
    let db = keel_store::Db::from_env().await.expect("KEEL_TABLE from the local stack");
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    // Long before anything else in the table is due, so the run hands off these entries only.
    let base = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap();
    let work: Vec<DueWork> = (0..COMPANIES * PER_COMPANY)
        .map(|n| DueWork {
            tenant_id: format!("01BENCHCOMPANY{:012}", n / PER_COMPANY),
            kind: DueKind::TaskEscalation,
            reference: format!("{}#1", ulid::Ulid::new()),
            due_at: base + Duration::seconds(n as i64),
        })
        .collect();
    futures::stream::iter(work.chunks(25))
        .for_each_concurrent(8, |chunk| {
            let db = db.clone();
            async move {
                let writes = chunk.iter().map(|w| {
                    let put = aws_sdk_dynamodb::types::PutRequest::builder().set_item(Some(w.item())).build().unwrap();
                    aws_sdk_dynamodb::types::WriteRequest::builder().put_request(put).build()
                });
                db.client.batch_write_item().request_items(&db.table, writes.collect()).send().await.unwrap();
            }
        })
        .await;
    let scheduler = Scheduler::from_env(db.clone(), sqs);
    db.requests.take();
    let now = base + Duration::days(1);
    let started = Instant::now();
    let mut total = keel_system::RunSummary::default();
    // A run hands off at most SHARDS × 10 pages × 100: run until the index is empty, as the
    // minute schedule would.
    loop {
        let run = scheduler.run(now).await.expect("a scheduler run");
        total += run;
        if run.handed_off == 0 {
            break;
        }
    }
    let elapsed = started.elapsed();
    let requests = db.requests.take();
    let per = |op: &str| requests.get(op).copied().unwrap_or(0) as f64 / total.handed_off.max(1) as f64;
    let mut out = String::new();
    let run = Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(out, "Run {run}, release build (`keel-bench bench/results.md l` runs this section alone).\n").unwrap();
    writeln!(
        out,
        "| due entries | companies | shards | handed off | seconds | entries / s | Query per entry | BatchWriteItem per entry | SQS SendMessageBatch per entry | DynamoDB µs per entry | SQS µs per entry |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    .unwrap();
    let us = |t: u64| t as f64 / total.handed_off.max(1) as f64;
    writeln!(
        out,
        "| {} | {COMPANIES} | {SHARDS} | {} | {:.2} | {:.0} | {:.3} | {:.3} | {:.2} | {:.0} | {:.0} |",
        work.len(),
        total.handed_off,
        elapsed.as_secs_f64(),
        total.handed_off as f64 / elapsed.as_secs_f64(),
        per("Query"),
        per("BatchWriteItem"),
        total.batches as f64 / total.handed_off.max(1) as f64,
        us(total.dynamodb_us),
        us(total.sqs_us),
    )
    .unwrap();
    writeln!(
        out,
        "\nThe time columns are summed over the 8 shards working in parallel. Locally the hand-off is bound by \
         moto's SQS, which slows as its queue grows (nothing consumes it here); the scheduler's own DynamoDB work \
         per entry is the figure that carries over to AWS. Each entry is read once, by the Query of its shard (`sk <= now`, 100 a page, consistent read: {} \
         Queries in all, the last of each shard short), sent in a `SendMessageBatch` of 10 and deleted in a \
         `BatchWriteItem` of 25; the scheduler reads nothing else — no company's records, no list of companies. \
         Its reads grow with the work that came due, not with the data the companies hold. The consumer's side \
         (escalating a task: 2 GetItem, 1 Query of the company's users, 1 TransactWriteItems) is per entry \
         and runs on the queue's own concurrency.",
        requests.get("Query").copied().unwrap_or(0)
    )
    .unwrap();
    out
}

//! `keel-bench OUT.md`: Keel's benchmarks, run inside a local stack (`make bench`).
//!
//! (a) each leads operation in-process (router + middleware + DynamoDB Local), p50/p99, beside the
//!     raw DynamoDB calls the operation needs, measured in the same run, as a ratio;
//! (b) DynamoDB requests per operation, counted by the SDK interceptor;
//! (c) init time of the leads binary (start → first invocation answered by a local Runtime API)
//!     beside an empty `lambda_runtime` binary, as a ratio;
//! (d) release binary sizes.
//!
//! Numbers are recorded, never asserted: timing belongs in this report, not in tests.

mod runtime_api;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::http::Method;
use keel_store::db::s;
use keel_store::{AttributeValue, TenantKeys};
use keel_testkit::TestApp;
use serde_json::json;

const ITERATIONS: usize = 300;
const STARTS: usize = 21;

struct Stats {
    p50: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats { p50: at(0.50), p99: at(0.99) }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn lead(n: usize) -> serde_json::Value {
    json!({"first_name": "Bench", "last_name": format!("Lead {n}"), "email": format!("bench.{n}@acme.example"),
           "phone": format!("+4420{:08}", n), "company_name": "Acme", "source": "Google Ads", "campaign": "Q4", "medium": "CPC"})
}

#[tokio::main]
async fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "bench/results.md".into());
    let app = TestApp::new(keel_leads::router).await;
    let t = app.tenant();
    let token = t.admin();
    let db = app.state.db.clone();
    let keys = TenantKeys::new(&t.id);

    // Warm-up: connections, first-use allocations.
    for n in 0..20 {
        app.post(&t.path("/leads"), &token, lead(1_000_000 + n)).await;
    }
    let mut ids = Vec::new();
    let mut ops: BTreeMap<&str, (Vec<Duration>, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut record = |name: &'static str, d: Duration, calls: BTreeMap<String, u64>| {
        let entry = ops.entry(name).or_default();
        entry.0.push(d);
        entry.1 = calls;
    };

    for n in 0..ITERATIONS {
        app.take_requests();
        let started = Instant::now();
        let r = app.post(&t.path("/leads"), &token, lead(n)).await;
        record("create", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let started = Instant::now();
        let r = app.get(&t.path(&format!("/leads/{id}")), &token).await;
        record("get", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 200);
    }
    for id in &ids {
        let started = Instant::now();
        let r = app.patch(&t.path(&format!("/leads/{id}")), &token, json!({"version": 1, "need": "Forecasting"})).await;
        record("update", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 200);
    }
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let r = app.call(Method::GET, &t.path("/leads?limit=50"), Some(&token), None, &[]).await;
        record("list (50)", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 200);
    }

    // The raw DynamoDB calls the operations make, with items of the same shape and size.
    let mut raw: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let sample_item = db.get(&keys.lead(&ids[0]), "LEAD").await.unwrap().unwrap();
    for n in 0..ITERATIONS {
        let mut item = sample_item.clone();
        let pk = format!("{}BENCHRAW#{n}", keys.tenant_prefix());
        item.insert("pk".into(), s(&pk));
        let put = |item: std::collections::HashMap<String, AttributeValue>| {
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(
                    aws_sdk_dynamodb::types::Put::builder()
                        .table_name(&db.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let marker = |suffix: &str| {
            std::collections::HashMap::from([
                ("pk".to_string(), s(format!("{pk}#{suffix}"))),
                ("sk".to_string(), s("MARKER")),
                ("lead_id".to_string(), s(&ids[0])),
            ])
        };
        let outbox = std::collections::HashMap::from([
            ("pk".to_string(), s(format!("{pk}#EVT"))),
            ("sk".to_string(), s("EVT")),
            ("envelope".to_string(), s("x".repeat(600))),
        ]);
        let items = vec![put(item.clone()), put(marker("E")), put(marker("P")), put(outbox)];
        let started = Instant::now();
        db.client.transact_write_items().set_transact_items(Some(items)).send().await.unwrap();
        raw.entry("create").or_default().push(started.elapsed());

        let started = Instant::now();
        db.get(&keys.lead(&ids[n]), "LEAD").await.unwrap();
        raw.entry("get").or_default().push(started.elapsed());

        let started = Instant::now();
        db.get(&keys.lead(&ids[n]), "LEAD").await.unwrap();
        item.insert("sk".into(), s("LEAD2"));
        let items = vec![put(item)];
        db.client.transact_write_items().set_transact_items(Some(items)).send().await.unwrap();
        raw.entry("update").or_default().push(started.elapsed());

        let started = Instant::now();
        db.client
            .query()
            .table_name(&db.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(keys.leads_index()))
            .scan_index_forward(false)
            .limit(50)
            .send()
            .await
            .unwrap();
        raw.entry("list (50)").or_default().push(started.elapsed());
    }

    let mut report = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    writeln!(report, "# Keel benchmark results\n").unwrap();
    writeln!(
        report,
        "Run {} on {cores} cores ({cpu}), DynamoDB Local 3.x (in-memory) on loopback, release build, `make bench`.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
    .unwrap();
    writeln!(report, "## (a, b) Leads operations in-process vs the raw DynamoDB calls they need ({ITERATIONS} each)\n")
        .unwrap();
    writeln!(
        report,
        "| operation | p50 ms | p99 ms | raw DynamoDB p50 ms | raw p99 ms | p50 ratio | DynamoDB requests |"
    )
    .unwrap();
    writeln!(report, "|---|---|---|---|---|---|---|").unwrap();
    for (name, (samples, calls)) in ops {
        let op = stats(samples);
        let base = stats(raw.remove(name).unwrap_or_default());
        let calls: Vec<String> = calls.iter().map(|(k, v)| format!("{v} {k}")).collect();
        writeln!(
            report,
            "| {name} | {} | {} | {} | {} | {:.2}× | {} |",
            ms(op.p50),
            ms(op.p99),
            ms(base.p50),
            ms(base.p99),
            op.p50.as_secs_f64() / base.p50.as_secs_f64(),
            calls.join(" + ")
        )
        .unwrap();
    }

    // (c) init time.
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let leads_bin = format!("{target}/release/leads");
    let empty_bin = format!("{target}/release/empty-lambda");
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/api-leads-get.json")).unwrap();
    let event = fixture
        .replace("01JCDEMOCOMPANY00000000000", &t.id)
        .replace("01JD7Z3K8Q6W9X2Y4B5C6D7E8F", &ids[0])
        .replace("{{TOKEN}}", &token);
    let mut ready: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut served: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for _ in 0..STARTS {
        for (name, bin, ev) in [("leads", &leads_bin, event.as_str()), ("empty", &empty_bin, "{}")] {
            let timing = runtime_api::time_first_invocation(bin, ev).await.unwrap();
            if name == "leads" {
                assert!(timing.body.contains("\"statusCode\":200"), "{}", timing.body);
            }
            ready.entry(name).or_default().push(timing.ready);
            served.entry(name).or_default().push(timing.served);
        }
    }
    let take = |m: &mut BTreeMap<&str, Vec<Duration>>, k| stats(m.remove(k).unwrap());
    let (leads_ready, empty_ready) = (take(&mut ready, "leads"), take(&mut ready, "empty"));
    let (leads_served, empty_served) = (take(&mut served, "leads"), take(&mut served, "empty"));
    writeln!(report, "\n## (c) Init against a local Runtime API ({STARTS} cold starts each)\n").unwrap();
    writeln!(report, "*ready* = process start → first poll for work (`/invocation/next`); *served* = process start → first response posted. The leads invocation is a GET of a lead (token check + 1 GetItem).\n").unwrap();
    writeln!(report, "| binary | ready p50 ms | ready p99 ms | served p50 ms | served p99 ms |\n|---|---|---|---|---|")
        .unwrap();
    for (name, r, s) in [("leads", &leads_ready, &leads_served), ("empty lambda_runtime", &empty_ready, &empty_served)]
    {
        writeln!(report, "| {name} | {} | {} | {} | {} |", ms(r.p50), ms(r.p99), ms(s.p50), ms(s.p99)).unwrap();
    }
    writeln!(
        report,
        "\nRatio leads / empty (p50): ready **{:.2}×**, served **{:.2}×** (target ≤ 1.5×).",
        leads_ready.p50.as_secs_f64() / empty_ready.p50.as_secs_f64(),
        leads_served.p50.as_secs_f64() / empty_served.p50.as_secs_f64()
    )
    .unwrap();

    // (d) sizes.
    writeln!(report, "\n## (d) Release binary size\n").unwrap();
    writeln!(report, "| binary | target | size |\n|---|---|---|").unwrap();
    for (bin, triple, path) in [
        ("leads", "x86_64 (host)", leads_bin.clone()),
        ("leads", "aarch64 (cargo lambda, `make package`)", format!("{target}/lambda/leads/bootstrap")),
        ("empty-lambda", "x86_64 (host)", empty_bin.clone()),
    ] {
        if let Ok(meta) = std::fs::metadata(&path) {
            writeln!(report, "| {bin} | {triple} | {:.2} MB |", meta.len() as f64 / 1_000_000.0).unwrap();
        }
    }
    writeln!(report, "\nTarget: ≤ 10 MB.").unwrap();
    std::fs::write(&out, &report).unwrap();
    println!("{report}");
}

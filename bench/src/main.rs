//! `keel-bench OUT.md`: Keel's benchmarks, run inside a local stack (`make bench`).
//!
//! (a) each leads operation in-process (router + middleware + DynamoDB Local), p50/p99, beside the
//!     raw DynamoDB calls the operation needs, measured in the same run, as a ratio;
//! (b) DynamoDB requests per operation, counted by the SDK interceptor;
//! (c) init time of the leads binary (start → first invocation answered by a local Runtime API)
//!     beside an empty `lambda_runtime` binary, as a ratio;
//! (d) release binary sizes;
//! (e) event throughput end to end;
//! (f) DynamoDB write units rate limiting spends per request, at the deployed limits;
//! (g) signed-in requests while sign-ups flood in;
//! (i) converting a lead and an account's overview (`keel-bench OUT.md i` runs this one alone and
//!     replaces its section in OUT.md).
//!
//! Numbers are recorded, never asserted: timing belongs in this report, not in tests.

mod alloc;
mod capture;
mod conversion;
mod deals;
mod import;
mod runtime_api;
mod scheduler;
mod timelines;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::http::Method;
use keel_store::db::s;
use keel_store::{AttributeValue, TenantKeys};
use keel_testkit::TestApp;
use serde_json::json;

const ITERATIONS: usize = 300;
const DEALS_HEADING: &str =
    "## (j) Deals: forecast, board and moves with 100 and 100,000 deals, in-process on DynamoDB Local";
const CONVERSION_HEADING: &str = "## (i) Conversion and the account overview, in-process on DynamoDB Local";
const TIMELINES_HEADING: &str = "## (k) Timelines with 10 and 10,000 activities, in-process on DynamoDB Local";
const SCHEDULER_HEADING: &str = "## (l) The scheduler: 2,000 due entries of 20 companies, on the local stack";
const CAPTURE_HEADING: &str = "## (m) Capture channels: web forms, WhatsApp, validation, in-process on DynamoDB Local";
const IMPORT_HEADING: &str = "## (n) Bulk import of 100,000 and 1,000,000 CSV rows, on the local stack";
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

const EVENTS: usize = 1000;

/// (f) Leads instances serving at once, each with its own state and limiter (as Lambda instances).
const LIMITER_INSTANCES: usize = 4;

struct LimiterRun {
    requests: usize,
    admitted: usize,
    refused: usize,
    update_items: u64,
    write_units: f64,
}

/// Sends `per_instance` GET /leads to each of `apps` at once (each instance one request at a time,
/// as a Lambda instance serves them), user `n % users.len()` on the `n`th; waits for the limiters'
/// background syncs to be answered and adds up what they wrote.
async fn limiter_run(apps: &[TestApp], path: &str, users: &[String], per_instance: usize) -> LimiterRun {
    for app in apps {
        app.take_requests();
    }
    let written = || apps.iter().map(|a| a.state.limiter.usage().write_units).sum::<f64>();
    let written_before = written();
    let runs = apps.iter().enumerate().map(|(i, app)| async move {
        let (mut admitted, mut refused) = (0, 0);
        for n in 0..per_instance {
            let token = &users[(n * apps.len() + i) % users.len()];
            match app.get(path, token).await.status.as_u16() {
                200 => admitted += 1,
                429 => refused += 1,
                other => panic!("GET /leads answered {other}"),
            }
        }
        (admitted, refused)
    });
    let counted = futures::future::join_all(runs).await;
    let started = Instant::now();
    while apps.iter().any(|a| {
        let u = a.state.limiter.usage();
        u.syncs_started != u.syncs + u.failed_syncs
    }) {
        assert!(started.elapsed() < Duration::from_secs(30), "rate-limit syncs not answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    LimiterRun {
        requests: per_instance * apps.len(),
        admitted: counted.iter().map(|c| c.0).sum(),
        refused: counted.iter().map(|c| c.1).sum(),
        update_items: apps.iter().map(|a| a.take_requests().get("UpdateItem").copied().unwrap_or(0)).sum(),
        write_units: written() - written_before,
    }
}

/// (f) Rate limiting's DynamoDB writes per request at the deployed limits: steady traffic of ten
/// users, then one user flooding, each over four instances of the leads function.
async fn rate_limit_cost() -> String {
    for var in [
        "KEEL_RATE_LIMIT_TENANT",
        "KEEL_RATE_LIMIT_USER",
        "KEEL_RATE_LIMIT_WINDOW_SECONDS",
        "KEEL_RATE_LIMIT_INSTANCES",
    ] {
        std::env::remove_var(var);
    }
    let mut apps = Vec::new();
    for _ in 0..LIMITER_INSTANCES {
        apps.push(TestApp::new(keel_leads::router).await);
    }
    let limits = *apps[0].state.limiter.limits();
    let (tenant, user) = (limits.tenant(), limits.user());

    let steady = apps[0].tenant().await;
    let mut users = vec![steady.admin()];
    for n in 1..10 {
        users.push(apps[0].user_token(&steady, &format!("bench-user-{n}"), keel_http::Role::SalesRep).await);
    }
    let steady_run = limiter_run(&apps, &steady.path("/leads"), &users, 500).await;
    let flood = apps[0].tenant().await;
    let flood_run = limiter_run(&apps, &flood.path("/leads"), &[flood.admin()], 1500).await;

    let mut out = String::new();
    writeln!(
        out,
        "Setup: the deployed limits ({} requests per company and {} per user per {} s window, {} instances \
         expected), so an instance syncs a company's count every {} of its admissions and a user's every {}. \
         {LIMITER_INSTANCES} instances of the leads function, each with its own state and limiter as a Lambda \
         instance has them, serve at once, one request at a time each; every request is GET /leads through the \
         router and edge. *UpdateItem* counts the limiter's syncs as sent (no other UpdateItem is on this path); \
         *write units* are what DynamoDB Local reported for them (`ReturnConsumedCapacity`: one per write of an \
         item under 1 KB). Counts still waiting when a window ends are never written.\n",
        limits.tenant_per_window,
        limits.user_per_window,
        limits.window_seconds,
        limits.expected_instances,
        tenant.sync_every,
        user.sync_every,
    )
    .unwrap();
    writeln!(
        out,
        "| scenario | requests | admitted | refused (429) | UpdateItem | write units | per request | per admitted request |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|").unwrap();
    for (name, run) in [("steady: 10 users, under the limits", &steady_run), ("flood: 1 user", &flood_run)] {
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {:.0} | **{:.3}** | {:.3} |",
            run.requests,
            run.admitted,
            run.refused,
            run.update_items,
            run.write_units,
            run.write_units / run.requests as f64,
            run.write_units / run.admitted.max(1) as f64,
        )
        .unwrap();
    }
    writeln!(
        out,
        "\nTarget ≤ 0.1 write units per request. Bound: ≤ 1/{} + 1/{} = {:.3} per admitted request; refused requests \
         write nothing. Before this limiter every authenticated request made one conditional UpdateItem on the \
         company's window item (≥ 1 write unit, more once the item, which held every active user's count, passed 1 KB).",
        tenant.sync_every,
        user.sync_every,
        1.0 / tenant.sync_every as f64 + 1.0 / user.sync_every as f64,
    )
    .unwrap();
    out
}

/// (e) Captures leads through the API (10 at a time) with the local event plumbing running, and
/// times until the dashboard consumer has counted every `LeadCreated`.
async fn event_throughput(app: &TestApp) -> String {
    let plumbing = keel_infra::plumbing::start().await.expect("event plumbing");
    let t = app.tenant().await;
    let token = t.admin();
    let path = t.path("/leads");
    let started = Instant::now();
    let mut created = 0;
    while created < EVENTS {
        let batch: Vec<_> =
            (created..(created + 10).min(EVENTS)).map(|n| app.post(&path, &token, lead(2_000_000 + n))).collect();
        for r in futures::future::join_all(batch).await {
            assert_eq!(r.status, 201);
        }
        created += 10;
    }
    let captured = started.elapsed();
    loop {
        let s = app.get(&t.path("/dashboard/summary"), &token).await;
        if s.body["leads"]["total"] == EVENTS as u64 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "events not counted in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counted = started.elapsed();
    for task in plumbing {
        task.abort();
    }
    format!(
        "{EVENTS} leads captured in {:.2} s; the last of their events counted {:.2} s after the first capture: \
         **{:.0} events/s end to end** (capture, relay and consumer sharing the 2 cores with DynamoDB Local and moto).",
        captured.as_secs_f64(),
        counted.as_secs_f64(),
        EVENTS as f64 / counted.as_secs_f64()
    )
}

/// Latencies of `GET /api/auth/me` until `done` is set.
async fn me_while(app: &TestApp, token: &str, done: &std::sync::atomic::AtomicBool) -> Vec<Duration> {
    let mut samples = Vec::new();
    while !done.load(std::sync::atomic::Ordering::SeqCst) || samples.len() < 20 {
        let started = Instant::now();
        let r = app.get("/api/auth/me", token).await;
        samples.push(started.elapsed());
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    samples
}

/// (g) `GET /api/auth/me` alone, then while sign-ups flood in from one address (refused past its
/// first five before any password is hashed) and from many (each admitted: an Argon2 hash apiece).
async fn sign_up_flood() -> String {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = TestApp::new(|state| keel_identity::router(state, keel_testkit::issuer())).await;
    let stamp = chrono::Utc::now().timestamp_millis();
    let email = |who: &str| format!("{who}.{stamp}@bench.example");
    let sign_up = |who: &str| json!({"company_name": "Bench", "full_name": "Bench", "email": email(who), "password": "Correct-Horse-7"});
    assert_eq!(app.call(Method::POST, "/api/auth/register", None, Some(sign_up("me")), &[]).await.status, 202);
    let link = keel_infra::mailbox::latest_token(&email("me"), "verify-email").await;
    let verify = json!({"token": link, "password": "Correct-Horse-7"});
    let session = app.call(Method::POST, "/api/auth/verify-email", None, Some(verify), &[]).await.body;
    let token = session["access_token"].as_str().unwrap().to_string();

    let mut rows = Vec::new();
    let done = AtomicBool::new(true);
    rows.push(("alone".to_string(), stats(me_while(&app, &token, &done).await), String::new()));
    for (scenario, senders, per_sender) in
        [("300 sign-ups from one address", 1, 300), ("30 sign-ups from 30 addresses", 30, 1)]
    {
        let done = AtomicBool::new(false);
        let apps: Vec<TestApp> = (0..senders).map(|_| TestApp::with_router(app.state.clone(), app.router())).collect();
        let started = Instant::now();
        let flood = async {
            let mut answers = BTreeMap::<u16, usize>::new();
            let requests: Vec<_> = apps
                .iter()
                .flat_map(|a| (0..per_sender).map(move |n| (a, n)))
                .enumerate()
                .map(|(i, (a, _))| {
                    a.call(Method::POST, "/api/auth/register", None, Some(sign_up(&format!("flood{i}"))), &[])
                })
                .collect();
            // Eight at a time, as a scripted client would.
            use futures::StreamExt;
            let mut pending = futures::stream::iter(requests).buffer_unordered(8);
            while let Some(r) = pending.next().await {
                *answers.entry(r.status.as_u16()).or_default() += 1;
            }
            done.store(true, Ordering::SeqCst);
            answers
        };
        let (answers, samples) = tokio::join!(flood, me_while(&app, &token, &done));
        let took = started.elapsed();
        let answers: Vec<String> = answers.iter().map(|(s, n)| format!("{n}× {s}")).collect();
        rows.push((
            scenario.to_string(),
            stats(samples),
            format!("{} in {:.2} s", answers.join(", "), took.as_secs_f64()),
        ));
    }
    let mut out = String::from(
        "Setup: the identity router in-process (release build) on DynamoDB Local and moto; one signed-in \
         user asks `GET /api/auth/me` one request after another while the sign-ups run, eight at a time. Argon2id \
         hashes run on blocking threads, so a request that hashes does not hold up the others on its thread.\n\n\
         | while | /auth/me p50 ms | p99 ms | sign-ups answered |\n|---|---|---|---|\n",
    );
    for (scenario, s, answers) in rows {
        writeln!(out, "| {scenario} | {} | {} | {answers} |", ms(s.p50), ms(s.p99)).unwrap();
    }
    out
}

/// Replaces (or appends) one section of the report.
fn only(out: &str, heading: &str, body: String) {
    let report = std::fs::read_to_string(out).unwrap_or_default();
    let section = format!("{heading}\n\n{body}");
    let report = match report.find(heading) {
        Some(at) => {
            let end = report[at + 1..].find("\n## ").map(|e| at + 1 + e + 1).unwrap_or(report.len());
            format!("{}{section}\n{}", &report[..at], &report[end..])
        }
        None => format!("{report}\n{section}"),
    };
    std::fs::write(out, report).unwrap();
    println!("{body}");
}

#[tokio::main]
async fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "bench/results.md".into());
    std::env::set_var("KEEL_RATE_LIMIT_USER", "100000000");
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "100000000");
    // One section alone, written into the report in place: `keel-bench bench/results.md i` or `… j`.
    match std::env::args().nth(2).as_deref() {
        Some("i") => return only(&out, CONVERSION_HEADING, conversion::conversion_and_overview().await),
        Some("j") => return only(&out, DEALS_HEADING, deals::deals().await),
        Some("k") => return only(&out, TIMELINES_HEADING, timelines::timelines().await),
        Some("l") => return only(&out, SCHEDULER_HEADING, scheduler::scheduler().await),
        Some("m") => return only(&out, CAPTURE_HEADING, capture::capture().await),
        Some("n") => return only(&out, IMPORT_HEADING, import::import().await),
        _ => {}
    }
    let conversion = conversion::conversion_and_overview().await;
    let deals = deals::deals().await;
    let timelines = timelines::timelines().await;
    let scheduler = scheduler::scheduler().await;
    let capture = capture::capture().await;
    let import = import::import().await;
    std::env::remove_var("KEEL_RATE_LIMIT_USER");
    std::env::remove_var("KEEL_RATE_LIMIT_TENANT");
    let rate_limits = rate_limit_cost().await;
    let flood = sign_up_flood().await;
    // The rest drives one user far past a deployment's per-minute limits, so the limits are
    // raised; (f) measured the limiter at the deployed ones.
    std::env::set_var("KEEL_RATE_LIMIT_USER", "100000000");
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "100000000");
    let app = TestApp::new(|state| keel_leads::router(state.clone()).merge(keel_dashboard::router(state))).await;
    let throughput = event_throughput(&app).await;
    let t = app.tenant().await;
    let token = t.admin();
    let db = app.state.db.clone();
    let keys = TenantKeys::new(&t.id);

    // Warm-up: connections, first-use allocations.
    for n in 0..20 {
        app.post(&t.path("/leads"), &token, lead(1_000_000 + n)).await;
    }
    // Each iteration runs an operation and then the raw DynamoDB calls it needs, so both see the
    // same stack state (table size, JIT warmth, background load).
    let mut ops: BTreeMap<&str, (Vec<Duration>, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut raw: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let seed = app.post(&t.path("/leads"), &token, lead(999_999)).await;
    let seed_id = seed.body["id"].as_str().unwrap().to_string();
    let sample_item = db.get(&keys.lead(&seed_id), "LEAD").await.unwrap().unwrap();
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
    for n in 0..ITERATIONS {
        let mut op = |name: &'static str, d: Duration, calls: BTreeMap<String, u64>| {
            let entry = ops.entry(name).or_default();
            entry.0.push(d);
            entry.1 = calls;
        };
        app.take_requests();

        // create: lead + email marker + phone marker + outbox event + audit record in one transaction
        let started = Instant::now();
        let r = app.post(&t.path("/leads"), &token, lead(n)).await;
        op("create", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let mut item = sample_item.clone();
        let pk = format!("{}BENCHRAW#{n}", keys.tenant_prefix());
        item.insert("pk".into(), s(&pk));
        let marker = |suffix: &str| {
            std::collections::HashMap::from([
                ("pk".to_string(), s(format!("{pk}#{suffix}"))),
                ("sk".to_string(), s("MARKER")),
                ("lead_id".to_string(), s(&seed_id)),
            ])
        };
        let outbox = std::collections::HashMap::from([
            ("pk".to_string(), s(format!("{pk}#EVT"))),
            ("sk".to_string(), s("EVT")),
            ("envelope".to_string(), s("x".repeat(600))),
        ]);
        // The audit record the product writes in the same transaction (about its size).
        let record = |suffix: &str| {
            std::collections::HashMap::from([
                ("pk".to_string(), s(format!("{pk}#{suffix}"))),
                ("sk".to_string(), s("AUD")),
                ("changes".to_string(), s("x".repeat(700))),
            ])
        };
        let items =
            vec![put(item.clone()), put(marker("E")), put(marker("P")), put(outbox.clone()), put(record("AUD1"))];
        let started = Instant::now();
        db.client.transact_write_items().set_transact_items(Some(items)).send().await.unwrap();
        raw.entry("create").or_default().push(started.elapsed());

        app.take_requests();
        let started = Instant::now();
        let r = app.get(&t.path(&format!("/leads/{id}")), &token).await;
        op("get", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 200);
        let started = Instant::now();
        db.get(&keys.lead(&id), "LEAD").await.unwrap();
        raw.entry("get").or_default().push(started.elapsed());

        app.take_requests();
        let started = Instant::now();
        let r = app.patch(&t.path(&format!("/leads/{id}")), &token, json!({"version": 1, "need": "Forecasting"})).await;
        op("update", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 200);
        let started = Instant::now();
        db.get(&keys.lead(&id), "LEAD").await.unwrap();
        item.insert("sk".into(), s("LEAD2"));
        // The lead, its LeadUpdated event and its audit record, as the product writes them.
        let mut event = outbox.clone();
        event.insert("sk".into(), s("EVT2"));
        let updated = vec![put(item), put(event), put(record("AUD2"))];
        db.client.transact_write_items().set_transact_items(Some(updated)).send().await.unwrap();
        raw.entry("update").or_default().push(started.elapsed());

        app.take_requests();
        let started = Instant::now();
        let r = app.call(Method::GET, &t.path("/leads?limit=50"), Some(&token), None, &[]).await;
        op("list (50)", started.elapsed(), app.take_requests());
        assert_eq!(r.status, 200);
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
    writeln!(
        report,
        "\nThe raw calls write the same items the operation does (create: lead, two markers, event and audit \
         record; update: lead, event and audit record), so the ratio is the in-process work: routing, the \
         token check, validation and serialisation. Rate limiting puts no DynamoDB request on an operation's \
         path (the limits are raised here, so the limiter never syncs); its background writes at the deployed \
         limits are in (f)."
    )
    .unwrap();

    // (c) init time.
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let leads_bin = format!("{target}/release/leads");
    let empty_bin = format!("{target}/release/empty-lambda");
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/api-leads-get.json")).unwrap();
    let event = fixture
        .replace("01JCDEMOCOMPANY00000000000", &t.id)
        .replace("01JD7Z3K8Q6W9X2Y4B5C6D7E8F", &seed_id)
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

    writeln!(report, "\n## (e) Event throughput: lead API → outbox → stream → relay → EventBridge → SQS → consumer\n")
        .unwrap();
    writeln!(report, "{throughput}").unwrap();

    writeln!(report, "\n## (f) Rate limiting: DynamoDB write units per request\n").unwrap();
    writeln!(report, "{rate_limits}").unwrap();

    writeln!(report, "\n## (g) Signed-in requests during a sign-up flood\n").unwrap();
    writeln!(report, "{flood}").unwrap();

    writeln!(report, "\n{CONVERSION_HEADING}\n").unwrap();
    writeln!(report, "{conversion}").unwrap();

    writeln!(report, "\n{DEALS_HEADING}\n").unwrap();
    writeln!(report, "{deals}").unwrap();

    writeln!(report, "\n{TIMELINES_HEADING}\n").unwrap();
    writeln!(report, "{timelines}").unwrap();

    writeln!(report, "\n{SCHEDULER_HEADING}\n").unwrap();
    writeln!(report, "{scheduler}").unwrap();

    writeln!(report, "\n{CAPTURE_HEADING}\n").unwrap();
    writeln!(report, "{capture}").unwrap();

    writeln!(report, "\n{IMPORT_HEADING}\n").unwrap();
    writeln!(report, "{import}").unwrap();

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

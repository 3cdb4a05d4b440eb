//! (n) Bulk import: generated CSV files of 100,000 and 1,000,000 rows, uploaded to the local S3
//! and imported by the import worker's legs (each through the consumer harness, as the queue
//! delivers them), beside the same items — each lead, its two markers, its event and its audit
//! record — written with plain `BatchWriteItem` to the same DynamoDB Local in the same run. Peak
//! heap is what the process held above its level when the import started (a counting allocator).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::Utc;
use keel_capture::import::file::{object_key, Files};
use keel_capture::import::record::{self, import_item, Import, ImportState};
use keel_capture::import::worker::ImportWork;
use keel_core::import::{suggest, ImportAttribution, ImportFormat};
use keel_core::{Lead, NewLead};
use keel_events::{Actor, Envelope, ImportRequested, LeadCreated};
use keel_store::audit::AuditRecord;
use keel_store::jobs::JobState;
use keel_store::leads::{marker, to_lead_item};
use keel_store::{Db, TenantKeys};
use ulid::Ulid;

use crate::alloc;

const HEADER: &str = "first_name,last_name,email,phone,company\n";

/// A row's phone: London numbers (020 7…) spread over the whole seven-digit range (48,271 is
/// prime to 10^7, so every row up to ten million gets a different one), as a real list's are.
/// Numbers counting up from zero would touch a narrow band of it, so a bigger file would show the
/// phone parser's lazily built automata more of the range and read as a memory growth the import
/// does not have.
fn phone(n: usize) -> String {
    format!("+44207{:07}", (n * 48_271) % 10_000_000)
}

fn row(n: usize) -> String {
    format!("Bench,Row {n},row.{n}@import.example,{},Acme Ltd\n", phone(n))
}

/// Rows imported once before the measured imports, unmeasured: the first import in a process
/// loads the phone metadata, the TLS roots and the compiled patterns (about 4 MB), which would
/// otherwise count against whichever size runs first.
const WARM_UP_ROWS: usize = 2_000;

fn sizes() -> Vec<usize> {
    std::env::var("KEEL_BENCH_IMPORT_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000])
}

struct Run {
    rows: usize,
    seconds: f64,
    legs: u32,
    created: u64,
    peak_heap: usize,
    requests: u64,
    baseline_seconds: f64,
}

pub async fn import() -> String {
    let runtime = keel_function::Runtime::new("ImportFunction").await;
    let db = runtime.db().expect("the local stack's table");
    let files = Files::from_env(runtime.s3()).expect("the local stack's import bucket");
    warm_up(&db, &files).await;
    let mut runs = Vec::new();
    for rows in sizes() {
        runs.push(one(&db, &files, rows).await);
    }
    let mut out = String::new();
    let run = Utc::now().format("%Y-%m-%d %H:%M UTC");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    writeln!(
        out,
        "Run {run}, {build} build, {cores} cores, DynamoDB Local in memory and moto's S3 on the same machine. \
         Each phase (the import, then the plain writes) runs on a new table of its own without a stream, \
         dropped after it; a {WARM_UP_ROWS}-row import runs first, unmeasured. Peak heap is the most live heap \
         (bytes allocated and not yet freed) the process held during the import above its level when it \
         started, not RSS. (`keel-bench bench/results.md n` runs this section alone; \
         `KEEL_BENCH_IMPORT_ROWS=1000000` picks the sizes.)\n"
    )
    .unwrap();
    writeln!(out, "| rows | import | rows/s | legs | created | DynamoDB requests / 1,000 rows | plain BatchWriteItem of the same items | import ÷ plain | peak heap |").unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|---|").unwrap();
    for r in &runs {
        let rate = r.rows as f64 / r.seconds;
        let plain = r.rows as f64 / r.baseline_seconds;
        writeln!(
            out,
            "| {} | {:.1} s | {:.0} | {} | {} | {:.1} | {:.1} s ({:.0} rows/s) | {:.2} | {:.1} MB |",
            r.rows,
            r.seconds,
            rate,
            r.legs,
            r.created,
            r.requests as f64 * 1000.0 / r.rows as f64,
            r.baseline_seconds,
            plain,
            rate / plain,
            r.peak_heap as f64 / 1_000_000.0
        )
        .unwrap();
    }
    if let [small, large] = &runs[..] {
        writeln!(
            out,
            "\nPeak heap, larger ÷ smaller: {:.2} (target ≤ 1.2).",
            large.peak_heap as f64 / small.peak_heap as f64
        )
        .unwrap();
    }
    writeln!(out, "\nThe import writes per new lead its item, two markers, its `LeadCreated` event and its audit record, in transactions of 19 leads with the job's checkpoint, each item conditioned; every batch is also looked up first (1 BatchGetItem of its markers, read while the batch before commits). The plain writes are the same five items per lead, unconditioned, 25 to a `BatchWriteItem`, one call at a time (the import overlaps its lookups with its commits; the plain writes have nothing to look up). Target: import ≥ 0.5 × plain.").unwrap();
    out
}

struct Imported {
    legs: u32,
    created: u64,
    seconds: f64,
    requests: u64,
}

async fn warm_up(db: &Db, files: &Files) {
    let table = scratch_table(db).await;
    let imported = run_import(&table, files, WARM_UP_ROWS).await;
    drop_table(&table).await;
    assert_eq!(imported.created, WARM_UP_ROWS as u64, "every generated row is a new, valid lead");
    eprintln!(
        "import warm-up: {WARM_UP_ROWS} rows in {} legs, {:.1} MB held",
        imported.legs,
        alloc::held() as f64 / 1e6
    );
}

async fn one(db: &Db, files: &Files, rows: usize) -> Run {
    // Each phase has a table of its own, so the import and the plain writes meet the same
    // table size, and a million leads' items are not held twice.
    let table = scratch_table(db).await;
    let imported = run_import(&table, files, rows).await;
    let peak_heap = alloc::peak();
    drop_table(&table).await;
    assert_eq!(imported.created, rows as u64, "every generated row is a new, valid lead");
    let plain = scratch_table(db).await;
    let baseline_seconds = plain_writes(&plain, rows).await.as_secs_f64();
    drop_table(&plain).await;
    let Imported { legs, created, seconds, requests } = imported;
    Run { rows, seconds, legs, created, peak_heap, requests, baseline_seconds }
}

/// Generates, uploads and imports a file of `rows` rows into `db`'s table, leg after leg, each
/// through the harness as the queue would deliver it. Time, requests and the heap's peak are
/// counted from the first leg on (not the file's making), and each new peak is logged with its leg.
async fn run_import(db: &Db, files: &Files, rows: usize) -> Imported {
    // The file, written and uploaded as a browser would send it.
    let path = std::env::temp_dir().join(format!("keel-bench-import-{rows}.csv"));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all(HEADER.as_bytes()).unwrap();
        for n in 0..rows {
            f.write_all(row(n).as_bytes()).unwrap();
        }
    }
    let tenant = Ulid::new().to_string();
    let keys = TenantKeys::new(&tenant);
    let id = Ulid::new().to_string();
    let body = aws_sdk_s3::primitives::ByteStream::from_path(&path).await.unwrap();
    files.s3.put_object().bucket(&files.bucket).key(object_key(&keys, &id)).body(body).send().await.unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    std::fs::remove_file(&path).ok();
    let now = Utc::now();
    let headers: Vec<String> = HEADER.trim().split(',').map(str::to_string).collect();
    let import = Import {
        id: id.clone(),
        file_name: format!("bench-{rows}.csv"),
        format: ImportFormat::Csv,
        size,
        state: ImportState::Started,
        delimiter: ",".into(),
        suggested: suggest(&headers),
        mapping: suggest(&headers),
        headers,
        attribution: ImportAttribution {
            source: Some("Bench".into()),
            campaign: Some("Import".into()),
            medium: Some("file".into()),
        },
        owner_id: "bench-owner".into(),
        created_by: "bench-owner".into(),
        created_at: now,
        updated_at: now,
        version: 2,
    };
    let put = |item| db.client.put_item().table_name(&db.table).set_item(Some(item)).send();
    put(import_item(&keys, &import).unwrap()).await.unwrap();
    put(record::new_job(&keys, &import, now).unwrap()).await.unwrap();

    let harness = keel_worker::Harness::new(db.clone(), ImportWork::new(db.clone(), files.clone()));
    let actor = Actor { user_id: "bench-owner".into(), role: "manager".into() };
    let requests_before = db.requests.total();
    alloc::reset_peak();
    let started = Instant::now();
    let mut logged = 0;
    let mut leg = 0;
    loop {
        let event = Envelope::new(&tenant, actor.clone(), Utc::now(), &ImportRequested { import_id: id.clone(), leg });
        let outcome = harness.apply(&event).await;
        assert!(outcome.acknowledged(), "leg {leg}: {outcome:?}");
        let peak = alloc::peak();
        if peak > logged {
            logged = peak;
            let (peak, held) = (logged as f64 / 1e6, alloc::held() as f64 / 1e6);
            eprintln!("import {rows}: leg {leg} new peak {peak:.2} MB, {held:.1} MB held after it");
        }
        let (job, _) = record::job(db, &keys, &id).await.unwrap().unwrap();
        match job.state {
            JobState::Succeeded => {
                let imported = Imported {
                    legs: leg + 1,
                    created: job.progress.get("created").copied().unwrap_or(0),
                    seconds: started.elapsed().as_secs_f64(),
                    requests: db.requests.total() - requests_before,
                };
                // The file is the bench's own: it leaves nothing in the stack's bucket.
                files.s3.delete_object().bucket(&files.bucket).key(object_key(&keys, &id)).send().await.unwrap();
                return imported;
            }
            JobState::Failed => panic!("the bench import failed: {:?}", job.error),
            _ => leg += 1,
        }
    }
}

/// A new table beside the stack's, with its keys and indexes but without its stream: nothing
/// reads the stream here, and DynamoDB Local keeps its records in the same memory as the items,
/// which for a million leads is more than the machine has. The stack's own table (and its
/// stream, which the other sections read) is never touched.
async fn scratch_table(db: &Db) -> Db {
    use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex};
    let table = db.client.describe_table().table_name(&db.table).send().await.unwrap().table.unwrap();
    let indexes = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(i.index_name().unwrap())
                .set_key_schema(i.key_schema.clone())
                .set_projection(i.projection.clone())
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let scratch = Db { table: format!("{}-import-bench-{}", db.table, Ulid::new()), ..db.clone() };
    db.client
        .create_table()
        .table_name(&scratch.table)
        .set_key_schema(table.key_schema.clone())
        .set_attribute_definitions(table.attribute_definitions.clone())
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    scratch
}

async fn drop_table(db: &Db) {
    db.client.delete_table().table_name(&db.table).send().await.unwrap();
}

/// The same items the import writes for each new lead — the lead, its email and phone markers,
/// its event and its audit record — with `BatchWriteItem` (25 items a call, one call at a
/// time as the import has one transaction at a time), to a company of their own.
async fn plain_writes(db: &Db, rows: usize) -> Duration {
    let keys = TenantKeys::new(&Ulid::new().to_string());
    let actor = Actor { user_id: "bench-owner".into(), role: "manager".into() };
    let started = Instant::now();
    let mut pending: Vec<WriteRequest> = Vec::with_capacity(25);
    for n in 0..rows {
        let draft = NewLead {
            first_name: Some("Bench".into()),
            last_name: Some(format!("Row {n}")),
            email: Some(format!("row.{n}@import.example")),
            phone: Some(phone(n)),
            company_name: Some("Acme Ltd".into()),
            source: Some("Bench".into()),
            campaign: Some("Import".into()),
            medium: Some("file".into()),
            ..NewLead::default()
        }
        .validate()
        .unwrap();
        let lead = Lead::capture(draft, Ulid::new(), "bench-owner", Utc::now());
        let event = Envelope::new(keys.tenant_id(), actor.clone(), Utc::now(), &LeadCreated::from(&lead));
        let outbox = keel_store::outbox::put(&db.table, &event).unwrap();
        let event_item = outbox.put().map(|p| p.item().clone()).unwrap();
        let record = AuditRecord {
            id: Ulid::new(),
            at: Utc::now(),
            actor_id: "bench-owner".into(),
            role: "import".into(),
            action: "lead.create".into(),
            entity_type: "lead".into(),
            entity_id: lead.id.to_string(),
            changes: AuditRecord::diff(None, &lead.as_json(), &Lead::RECORDED_FIELDS),
            request_id: "bench".into(),
            source_ip: String::new(),
        };
        let audit = keel_store::audit::put(&db.table, &keys, &record).unwrap();
        let audit_item = audit.put().map(|p| p.item().clone()).unwrap();
        let mut items = vec![to_lead_item(&keys, &lead).unwrap(), event_item, audit_item];
        for (_, pk) in keel_store::leads::markers(&keys, &lead) {
            // As the import's markers: with the lead that holds them.
            let mut item = marker(pk);
            item.insert("lead_id".into(), keel_store::AttributeValue::S(lead.id.to_string()));
            items.push(item);
        }
        for item in items {
            pending.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build(),
            );
            if pending.len() == 25 {
                batch_write(db, std::mem::take(&mut pending)).await;
            }
        }
    }
    if !pending.is_empty() {
        batch_write(db, pending).await;
    }
    started.elapsed()
}

async fn batch_write(db: &Db, mut requests: Vec<WriteRequest>) {
    while !requests.is_empty() {
        let out = db
            .client
            .batch_write_item()
            .request_items(&db.table, requests)
            .send()
            .await
            .expect("BatchWriteItem on DynamoDB Local");
        requests = out.unprocessed_items.and_then(|mut u| u.remove(&db.table)).unwrap_or_default();
    }
}

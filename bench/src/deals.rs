//! (j) Deals: latency and DynamoDB requests of the forecast (now and as of a past day), the board
//! and a stage move, with 100 and with 100,000 deals in one company (target: the forecast's
//! ratio ≤ 1.2 between the two).
//!
//! The deals are seeded straight into the table (BatchWriteItem), with the rollup items summed
//! from the same per-deal contributions (`keel_core::forecast::contribution`) the `deal-rollups`
//! consumer adds event by event: pushing 100,000 events through the local bus would measure the
//! bus, not the reads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{Duration, Utc};
use futures::StreamExt;
use keel_core::forecast::{contribution, Cell, DealFacts};
use keel_core::opportunity::{ForecastCategory, Opportunity, OpportunityStatus, OpportunityType};
use keel_store::db::{n, s};
use keel_store::{crm, revenue, Item, TenantKeys};
use keel_testkit::TestApp;
use serde_json::json;

use crate::{ms, stats};

const READS: usize = 100;
const OWNERS: u64 = 20;
const STAGES: [(&str, u8, ForecastCategory, OpportunityStatus); 7] = [
    ("prospecting", 10, ForecastCategory::Pipeline, OpportunityStatus::Open),
    ("qualification", 20, ForecastCategory::Pipeline, OpportunityStatus::Open),
    ("needs_analysis", 40, ForecastCategory::Pipeline, OpportunityStatus::Open),
    ("proposal", 60, ForecastCategory::BestCase, OpportunityStatus::Open),
    ("negotiation", 80, ForecastCategory::Commit, OpportunityStatus::Open),
    ("closed_won", 100, ForecastCategory::Closed, OpportunityStatus::Won),
    ("closed_lost", 0, ForecastCategory::Omitted, OpportunityStatus::Lost),
];

async fn write_all(app: &TestApp, items: Vec<Item>) {
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|i| {
            WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(i)).build().expect("put")).build()
        })
        .collect();
    let writes = requests.chunks(25).map(|chunk| {
        let db = app.state.db.clone();
        let chunk = chunk.to_vec();
        async move {
            let mut pending = std::collections::HashMap::from([(db.table.clone(), chunk)]);
            while !pending.is_empty() {
                let out = db.client.batch_write_item().set_request_items(Some(pending)).send().await.expect("write");
                pending =
                    out.unprocessed_items.unwrap_or_default().into_iter().filter(|(_, v)| !v.is_empty()).collect();
            }
        }
    });
    // Sixteen batches in flight at a time.
    futures::stream::iter(writes).buffer_unordered(16).collect::<Vec<()>>().await;
}

/// Seeds `count` deals of one company over the last `days` days, with their rollups.
async fn seed(app: &TestApp, keys: &TenantKeys, count: u64, days: i64) {
    let now = Utc::now();
    let mut items = Vec::new();
    let mut now_cells: BTreeMap<Cell, BTreeMap<String, i64>> = BTreeMap::new();
    let mut day_cells: BTreeMap<(String, String, String), BTreeMap<String, i64>> = BTreeMap::new();
    let mut ids = ulid::Generator::new();
    for i in 0..count {
        let (stage, probability, category, status) = STAGES[(i % 7) as usize];
        let created = now - Duration::days((i as i64 * 7919) % days.max(1)) - Duration::minutes(1);
        let close = now.date_naive() + Duration::days((i as i64 * 31) % 80 - 20);
        let deal = Opportunity {
            id: ids.generate().expect("ids"),
            name: format!("Bench deal {i}"),
            account_id: "01JCBENCHACCOUNT0000000000".into(),
            contacts: vec![],
            amount: Some(keel_core::Money {
                value_minor: 100_000 + (i as i64 * 977) % 5_000_000,
                currency: if i % 5 == 0 { "USD" } else { "EUR" }.into(),
            }),
            close_date: close,
            stage: stage.into(),
            probability,
            forecast_category: category,
            status,
            opportunity_type: OpportunityType::NewBusiness,
            owner_id: format!("owner-{}", i % OWNERS),
            source_lead_id: None,
            next_step: None,
            lost_reason: None,
            pipeline_id: "default".into(),
            stage_entered_at: Some(created),
            closed_at: (status != OpportunityStatus::Open).then_some(created + Duration::minutes(1)),
            archived_at: None,
            version: 1,
            created_by: "bench".into(),
            created_at: created,
            updated_at: created,
        };
        items.push(crm::opportunity_item(keys, &deal).expect("deal item"));
        for (cell, attrs) in contribution(&DealFacts::from(&deal)) {
            if let Cell::Forecast { period, owner } = &cell {
                let day = created.date_naive().to_string();
                let bucket = day_cells.entry((period.clone(), day, owner.clone())).or_default();
                for (k, v) in &attrs {
                    *bucket.entry(k.clone()).or_default() += v;
                }
            }
            let total = now_cells.entry(cell).or_default();
            for (k, v) in attrs {
                *total.entry(k).or_default() += v;
            }
        }
    }
    let counters = |pk: String, sk: String, attrs: &BTreeMap<String, i64>| {
        let mut item: Item = attrs.iter().map(|(k, v)| (k.clone(), n(*v))).collect();
        item.insert("pk".into(), s(pk));
        item.insert("sk".into(), s(sk));
        item.insert("entity".into(), s("rollup"));
        item
    };
    for (cell, attrs) in &now_cells {
        items.push(match cell {
            Cell::Forecast { period, owner } => {
                counters(revenue::forecast_pk(keys, period), format!("{}{owner}", revenue::NOW), attrs)
            }
            Cell::Stage { pipeline, stage } => {
                counters(revenue::pipeline_totals_pk(keys, pipeline), format!("STAGE#{stage}"), attrs)
            }
            Cell::Month { month } => counters(revenue::trends_pk(keys), revenue::month_sk(month), attrs),
        });
    }
    let mut month_cells: BTreeMap<(String, String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for ((period, day, owner), attrs) in &day_cells {
        items.push(counters(revenue::forecast_pk(keys, period), format!("{}{day}#{owner}", revenue::DAY), attrs));
        let month = month_cells.entry((period.clone(), day[..7].to_string(), owner.clone())).or_default();
        for (k, v) in attrs {
            *month.entry(k.clone()).or_default() += v;
        }
    }
    for ((period, month, owner), attrs) in &month_cells {
        items.push(counters(revenue::forecast_pk(keys, period), format!("{}{month}#{owner}", revenue::MONTH), attrs));
    }
    write_all(app, items).await;
}

fn calls(c: &BTreeMap<String, u64>) -> String {
    c.iter().map(|(op, n)| format!("{n} {op}")).collect::<Vec<_>>().join(" + ")
}

pub async fn deals() -> String {
    let app = TestApp::new(|state| keel_deals::router(state.clone()).merge(keel_customers::router(state))).await;
    let mut out = String::new();
    let run = Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(
        out,
        "Run {run}, release build, deals router in-process on DynamoDB Local (`keel-bench bench/results.md j` runs \
         this section alone). {OWNERS} owners; deals spread over the seven stages, closing from 20 days ago to 60 \
         days ahead; 100 deals were created over 30 days, 100,000 over 365 (so the as-of history holds one item per \
         owner and day with changes, and one per owner and month: 20 × 30 + 20 × 2 and 20 × 365 + 20 × 13 items).\n"
    )
    .unwrap();
    writeln!(
        out,
        "| operation | deals | p50 ms | p99 ms | DynamoDB requests | items read |\n|---|---|---|---|---|---|"
    )
    .unwrap();
    let period = keel_core::forecast::quarter(Utc::now().date_naive());
    let as_of = (Utc::now().date_naive() - Duration::days(10)).to_string();
    let mut p50 = BTreeMap::new();
    for (count, days) in [(100u64, 30i64), (100_000, 365)] {
        let t = app.tenant().await;
        let keys = TenantKeys::new(&t.id);
        let started = Instant::now();
        seed(&app, &keys, count, days).await;
        eprintln!("seeded {count} deals in {:.1} s", started.elapsed().as_secs_f64());
        let token = t.admin();
        for (name, path) in [
            ("forecast, now", t.path(&format!("/deals/forecast?period={period}"))),
            ("forecast, as of 10 days ago", t.path(&format!("/deals/forecast?period={period}&as_of={as_of}"))),
            ("board (7 columns × 20 cards)", t.path("/deals/pipeline-view")),
        ] {
            let mut samples = Vec::new();
            let mut requests = BTreeMap::new();
            for _ in 0..READS {
                app.take_requests();
                let started = Instant::now();
                let r = app.get(&path, &token).await;
                samples.push(started.elapsed());
                requests = app.take_requests();
                assert_eq!(r.status, 200, "{:?}", r.body);
            }
            let items = if name.starts_with("forecast, now") {
                format!("{OWNERS} rollups + quotas")
            } else if name.starts_with("forecast, as of") {
                format!("≤ {} monthly + {} daily items", OWNERS as i64 * (days / 30 + 1), OWNERS * 31)
            } else {
                "1 pipeline + 7 totals + ≤ 140 cards".into()
            };
            let st = stats(samples);
            p50.insert((name, count), st.p50);
            writeln!(out, "| {name} | {count} | {} | {} | {} | {items} |", ms(st.p50), ms(st.p99), calls(&requests))
                .unwrap();
        }
    }
    // A real move through the API: its requests per call.
    let t = app.tenant().await;
    let token = t.admin();
    let account = app.post(&t.path("/customers"), &token, json!({"name": "Bench account"})).await;
    let account_id = account.body["id"].as_str().expect("account").to_string();
    let mut samples = Vec::new();
    let mut requests = BTreeMap::new();
    for i in 0..READS {
        let body = json!({"name": format!("Move {i}"), "account_id": account_id, "close_date": "2027-01-15",
            "amount": {"value_minor": 100_000, "currency": "EUR"}});
        let deal = app.post(&t.path("/deals"), &token, body).await.body;
        let path = t.path(&format!("/deals/{}/move-stage", deal["id"].as_str().expect("id")));
        app.take_requests();
        let started = Instant::now();
        let r = app
            .call(axum::http::Method::PUT, &path, Some(&token), Some(json!({"stage": "proposal", "version": 1})), &[])
            .await;
        samples.push(started.elapsed());
        requests = app.take_requests();
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let st = stats(samples);
    writeln!(out, "| move-stage | — | {} | {} | {} | 2 |", ms(st.p50), ms(st.p99), calls(&requests)).unwrap();
    let ratio = |name| p50[&(name, 100_000)].as_secs_f64() / p50[&(name, 100)].as_secs_f64();
    writeln!(
        out,
        "\np50 ratio 100,000 / 100 deals: forecast now {:.2}, board {:.2}, forecast as of a day {:.2}. The forecast \
         now reads one rollup item per owner and the quarter's quotas (2 Queries) and the board 1 GetItem + 1 Query \
         of its totals + 1 Query per column, whatever the number of deals. The as-of forecast folds the period's \
         monthly change items before the day's month and that month's daily items up to the day (2 Queries at \
         once): its cost follows owners × (months + 31), never the deals. A move is 1 GetItem of the deal + 1 GetItem of the pipeline (the default one is \
         the product's stages until saved) + 1 TransactWriteItems of 8 items (deal, its account summary, two stage \
         slots, the stage visit, DealChanged, audit; + DealWon or the account's counter when it closes).",
        ratio("forecast, now"),
        ratio("board (7 columns × 20 cards)"),
        ratio("forecast, as of 10 days ago"),
    )
    .unwrap();
    out
}

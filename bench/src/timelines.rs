//! (k) Timelines: a page of an account's timeline with 10 and with 10,000 activities on it
//! (target: 1 Query and the same latency either way), and logging an activity on two records.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use keel_testkit::TestApp;
use serde_json::json;

use crate::conversion::history;
use crate::{ms, stats};

const PAGES: usize = 200;
const LOGS: usize = 100;

fn calls(c: &std::collections::BTreeMap<String, u64>) -> String {
    c.iter().map(|(op, n)| format!("{n} {op}")).collect::<Vec<_>>().join(" + ")
}

pub async fn timelines() -> String {
    let app = TestApp::new(|state| keel_customers::router(state.clone()).merge(keel_activities::router(state))).await;
    let t = app.tenant().await;
    let token = t.admin();
    let mut out = String::new();
    let run = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(out, "Run {run}, release build (`keel-bench bench/results.md k` runs this section alone).\n").unwrap();
    writeln!(out, "| operation | p50 ms | p99 ms | DynamoDB requests |\n|---|---|---|---|").unwrap();
    let mut requests = Default::default();
    for activities in [10, 10_000] {
        let account = app.post(&t.path("/customers"), &token, json!({"name": format!("Timeline {activities}")})).await;
        let id = account.body["id"].as_str().expect("account id").to_string();
        history(&app, &t, &id, activities).await;
        for (label, query) in [("first page of 25", ""), ("calls only, 25", "?type=call")] {
            let path = t.path(&format!("/customers/{id}/timeline{query}"));
            let mut samples: Vec<Duration> = Vec::new();
            for _ in 0..PAGES {
                app.take_requests();
                let started = Instant::now();
                let r = app.get(&path, &token).await;
                samples.push(started.elapsed());
                requests = app.take_requests();
                assert_eq!(r.status, 200);
                assert_eq!(r.body["items"].as_array().map(Vec::len), Some(activities.min(25)));
            }
            let s = stats(samples);
            writeln!(
                out,
                "| account timeline, {activities} activities, {label} ({PAGES} reads) | {} | {} | {} |",
                ms(s.p50),
                ms(s.p99),
                calls(&requests)
            )
            .unwrap();
        }
        if activities == 10 {
            let second = app.post(&t.path("/customers"), &token, json!({"name": "Second record"})).await;
            let other = second.body["id"].as_str().expect("account id").to_string();
            let mut samples = Vec::new();
            for n in 0..LOGS {
                let body = json!({"type": "call", "subject": format!("Call {n}"), "duration_minutes": 20,
                    "related": [{"kind": "account", "id": id}, {"kind": "account", "id": other}]});
                app.take_requests();
                let started = Instant::now();
                let r = app.post(&t.path("/activities"), &token, body).await;
                samples.push(started.elapsed());
                requests = app.take_requests();
                assert_eq!(r.status, 201, "{:?}", r.body);
            }
            let s = stats(samples);
            writeln!(
                out,
                "| log a call on two records ({LOGS} calls) | {} | {} | {} |",
                ms(s.p50),
                ms(s.p99),
                calls(&requests)
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "\nA timeline page is 1 Query of the record's own collection (`ACT#<occurred at>#<id>`, newest first, \
         `Limit` 25): it reads the page and stops, so 10,000 activities cost what 10 do. The type filter is a \
         FilterExpression over that page (every activity here is a call, so the page is full). Logging writes \
         the activity, one timeline entry per record, a condition check per record that it exists and the audit \
         record in 1 TransactWriteItems, with no read before it."
    )
    .unwrap();
    out
}

//! (i) Conversion and the account overview: latency and DynamoDB requests of converting a
//! qualified lead (target: the reads it needs + 1 transaction), and of the overview of an account
//! with 10 and with 1,000 activities on its timeline (target: 1 Query either way).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use keel_core::activity::{Activity, ActivityType, RecordKind, Related};
use keel_store::TenantKeys;
use keel_testkit::{Tenant, TestApp};
use serde_json::json;

use crate::{lead, ms, stats};

const CONVERSIONS: usize = 100;
const OVERVIEWS: usize = 200;

/// Writes `n` activities onto an account's timeline, as the activities context will.
pub(crate) async fn history(app: &TestApp, t: &Tenant, account_id: &str, n: usize) {
    let keys = TenantKeys::new(&t.id);
    let now = chrono::Utc::now();
    let mut ids = ulid::Generator::new();
    let entries: Vec<WriteRequest> = (0..n)
        .map(|i| {
            let activity = Activity {
                id: ids.generate().expect("ids"),
                activity_type: ActivityType::Call,
                subject: format!("Call {i}"),
                body: Some("Discussed the rollout plan and the next steps with the buying group.".into()),
                related: vec![Related { kind: RecordKind::Account, id: account_id.into() }],
                occurred_at: now,
                duration_minutes: Some(15),
                outcome: Some("connected".into()),
                owner_id: t.user_id.clone(),
                created_by: t.user_id.clone(),
                created_at: now,
                version: 1,
                shown_on: vec![],
            };
            let item = keel_store::crm::timeline_items(&keys, &activity).expect("item").remove(0);
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().expect("put"))
                .build()
        })
        .collect();
    for chunk in entries.chunks(25) {
        let mut pending = std::collections::HashMap::from([(app.state.db.table.clone(), chunk.to_vec())]);
        while !pending.is_empty() {
            let out =
                app.state.db.client.batch_write_item().set_request_items(Some(pending)).send().await.expect("write");
            pending = out.unprocessed_items.unwrap_or_default().into_iter().filter(|(_, v)| !v.is_empty()).collect();
        }
    }
}

fn calls(c: &std::collections::BTreeMap<String, u64>) -> String {
    c.iter().map(|(op, n)| format!("{n} {op}")).collect::<Vec<_>>().join(" + ")
}

pub async fn conversion_and_overview() -> String {
    let app = TestApp::new(|state| keel_leads::router(state.clone()).merge(keel_customers::router(state))).await;
    let t = app.tenant().await;
    let token = t.admin();
    let mut out = String::new();
    let run = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(out, "Run {run}, release build (`keel-bench bench/results.md i` runs this section alone).\n").unwrap();

    let mut samples = Vec::new();
    let mut requests = Default::default();
    for n in 0..CONVERSIONS {
        let captured = app.post(&t.path("/leads"), &token, lead(5_000_000 + n)).await;
        let id = captured.body["id"].as_str().expect("lead id").to_string();
        let bant = json!({"bant": {"budget": 20, "authority": 20, "need": 20, "timeline": 15}});
        app.post(&t.path(&format!("/leads/{id}/qualify")), &token, bant).await;
        app.take_requests();
        let started = Instant::now();
        let r = app.post(&t.path(&format!("/leads/{id}/convert")), &token, json!({})).await;
        samples.push(started.elapsed());
        requests = app.take_requests();
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let s = stats(samples);
    writeln!(out, "| operation | p50 ms | p99 ms | DynamoDB requests |\n|---|---|---|---|").unwrap();
    writeln!(
        out,
        "| convert a qualified lead (new account; {CONVERSIONS} leads) | {} | {} | {} |",
        ms(s.p50),
        ms(s.p99),
        calls(&requests)
    )
    .unwrap();

    for activities in [10, 1000] {
        let account = app.post(&t.path("/customers"), &token, json!({"name": format!("Overview {activities}")})).await;
        let id = account.body["id"].as_str().expect("account id").to_string();
        for last in ["Potts", "Hogan", "Rhodes"] {
            let body = json!({"account_id": id, "first_name": "Sam", "last_name": last, "roles": ["decision_maker"]});
            app.post(&t.path("/contacts"), &token, body).await;
        }
        history(&app, &t, &id, activities).await;
        let path = t.path(&format!("/customers/{id}/overview"));
        let mut samples: Vec<Duration> = Vec::new();
        for _ in 0..OVERVIEWS {
            app.take_requests();
            let started = Instant::now();
            let r = app.get(&path, &token).await;
            samples.push(started.elapsed());
            requests = app.take_requests();
            assert_eq!(r.status, 200);
        }
        let s = stats(samples);
        writeln!(
            out,
            "| account overview, 3 contacts, {activities} activities ({OVERVIEWS} reads) | {} | {} | {} |",
            ms(s.p50),
            ms(s.p99),
            calls(&requests)
        )
        .unwrap();
    }
    writeln!(
        out,
        "\nThe conversion reads the lead with its assessments (1 Query) and the company's qualification policy \
         (1 GetItem), then writes everything in 1 TransactWriteItems: lead, account, contact and its summary, \
         opportunity and its summary, activity and 4 timeline entries, 3 audit records and 4 events (18 items). The \
         overview is 1 Query of the account's collection read newest first that stops after the latest 10 \
         activities: with 1,000 activities it reads at most 90 items (the page limit) instead of 14, whatever the \
         history's length; that is the difference between the two rows."
    )
    .unwrap();
    out
}

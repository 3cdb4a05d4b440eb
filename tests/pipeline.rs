//! The whole event path as deployed: lead API → outbox → table stream → relay → EventBridge
//! rule (from template.yaml) → SQS → dashboard consumer → rollup → summary API. Needs the event
//! plumbing running beside the tests (`make test` starts `keel-dev plumbing`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_testkit::{Tenant, TestApp};
use keel_tests::{all_leads, lead_body, summary};
use serde_json::{json, Value};

async fn wait_for_counts(app: &TestApp, t: &Tenant, expected: &Value) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = summary(app, t).await;
        if &s["leads"] == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "counters never matched (is the event plumbing running?)\n got {}\nwant {expected}",
            s["leads"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn direct_count(leads: &[Value]) -> Value {
    let by = |field: &str| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for l in leads {
            *m.entry(l[field].as_str().unwrap().to_string()).or_default() += 1;
        }
        m
    };
    json!({"total": leads.len(), "by_status": by("status"), "by_source": by("source"), "by_score_band": by("score_band")})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_equal_a_direct_count_after_1000_leads() {
    // One user drives well over a minute's worth of requests here; limits are not under test.
    std::env::set_var("KEEL_RATE_LIMIT_USER", "1000000");
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "1000000");
    let app = Arc::new(keel_tests::app().await);
    let a = app.tenant().await;
    let b = app.tenant().await;
    let sources = ["Google Ads", "Referral", "Webinar", "LinkedIn"];
    let mut ids = Vec::new();
    for chunk in (0..1000u32).collect::<Vec<_>>().chunks(25) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&n| {
                let (app, path, token) = (app.clone(), a.path("/leads"), a.admin());
                let mut body = lead_body(n);
                body["source"] = json!(sources[n as usize % sources.len()]);
                if n % 3 == 0 {
                    body["budget"] = json!("50k");
                    body["need"] = json!("CRM");
                }
                tokio::spawn(async move { app.post(&path, &token, body).await })
            })
            .collect();
        for t in tasks {
            let r = t.await.unwrap();
            assert_eq!(r.status, 201, "{:?}", r.body);
            ids.push(r.body["id"].as_str().unwrap().to_string());
        }
    }
    // Some leads move on: archived, contacted, re-scored.
    for (i, id) in ids.iter().enumerate().take(150) {
        let path = a.path(&format!("/leads/{id}"));
        let r = match i % 3 {
            0 => app.delete(&path, &a.admin()).await,
            1 => app.patch(&path, &a.admin(), json!({"version": 1, "status": "contacted"})).await,
            _ => app.patch(&path, &a.admin(), json!({"version": 1, "authority": "CFO", "timeline": "Q1"})).await,
        };
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let expected = direct_count(&all_leads(&app, &a).await);
    assert_eq!(expected["total"], 1000);
    wait_for_counts(&app, &a, &expected).await;

    // Tenant B's events never reach A's counters, and the other way round.
    for n in 0..3 {
        app.post(&b.path("/leads"), &b.admin(), lead_body(n)).await;
    }
    let expected_b = direct_count(&all_leads(&app, &b).await);
    wait_for_counts(&app, &b, &expected_b).await;
    assert_eq!(summary(&app, &a).await["leads"], expected);
    let r = app.get(&a.path("/dashboard/summary"), &b.admin()).await;
    assert_eq!(r.status, 404);
}

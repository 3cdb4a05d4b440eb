//! The integration feed: a company's own events, in order, resumable, filtered by type.

use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{capture, lead_body};
use serde_json::{json, Value};

async fn feed(app: &TestApp, t: &Tenant, query: &str) -> Value {
    let r = app.get(&t.path(&format!("/events?{query}")), &t.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn types(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|e| e["detail_type"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_feed_replays_the_companys_events_in_order() {
    // Serve events as soon as they are written (the deployed default waits out the function timeout).
    std::env::set_var("KEEL_FEED_SETTLE_SECONDS", "0");
    let app = keel_tests::app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let lead = capture(&app, &a, lead_body(1)).await;
    let path = a.path(&format!("/leads/{}", lead["id"].as_str().unwrap()));
    app.patch(&path, &a.admin(), json!({"version": 1, "status": "contacted"})).await;
    app.delete(&path, &a.admin()).await;
    capture(&app, &a, lead_body(2)).await;
    capture(&app, &b, lead_body(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let all = feed(&app, &a, "").await;
    assert_eq!(types(&all), ["LeadCreated", "LeadUpdated", "LeadArchived", "LeadCreated"]);
    for e in all["items"].as_array().unwrap() {
        assert_eq!(e["tenant_id"], a.id.as_str(), "only the company's own events");
        assert_eq!(e["version"], 1);
        assert_eq!(e["actor"]["user_id"], a.user_id.as_str());
    }

    // Paging with the cursor (or the last id read) continues exactly after it.
    let first = feed(&app, &a, "limit=2").await;
    assert_eq!(types(&first), ["LeadCreated", "LeadUpdated"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = feed(&app, &a, &format!("after={cursor}")).await;
    assert_eq!(types(&rest), ["LeadArchived", "LeadCreated"]);
    let last_id = all["items"][3]["event_id"].as_str().unwrap();
    assert!(feed(&app, &a, &format!("after={last_id}")).await["items"].as_array().unwrap().is_empty());

    let created = feed(&app, &a, "types=LeadCreated").await;
    assert_eq!(types(&created), ["LeadCreated", "LeadCreated"]);
    let two = feed(&app, &a, "types=LeadArchived,LeadUpdated").await;
    assert_eq!(types(&two), ["LeadUpdated", "LeadArchived"]);

    assert_eq!(types(&feed(&app, &b, "").await), ["LeadCreated"]);
    // B cannot read A's feed, and viewers can read their own.
    assert_eq!(app.get(&a.path("/events"), &b.admin()).await.status, 404);
    assert_eq!(app.get(&a.path("/events"), &a.token(Role::Viewer)).await.status, 200);

    for (query, field) in [
        ("after=nope", "after"),
        // The largest ULID there is: an id from the year 10889 was never minted.
        ("after=7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "after"),
        ("limit=0", "limit"),
        ("limit=500", "limit"),
        ("types=Lead%20Created", "types"),
        ("since=1", "since"),
    ] {
        let r = app.get(&a.path(&format!("/events?{query}")), &a.admin()).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec![field.to_string()]), "{query}");
    }
}

#[tokio::test]
async fn the_feed_trails_live_writes_by_the_settle_window() {
    std::env::set_var("KEEL_FEED_SETTLE_SECONDS", "3600");
    let app = keel_tests::app().await;
    let a = app.tenant().await;
    capture(&app, &a, lead_body(1)).await;
    let page = feed(&app, &a, "").await;
    assert!(page["items"].as_array().unwrap().is_empty(), "an event younger than the window is not served yet");
}

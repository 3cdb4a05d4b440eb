//! The audit trail: a record for every change in the same transaction, none for what did not
//! happen, readable by administrators of the company only.

use axum::http::Method;
use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{capture, lead_body};
use serde_json::{json, Value};

async fn trail(app: &TestApp, t: &Tenant, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/audit?{query}"), &t.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn actions(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["action"].as_str().unwrap().to_string()).collect()
}

fn change<'a>(record: &'a Value, field: &str) -> Option<&'a Value> {
    record["changes"].as_array().unwrap().iter().find(|c| c["field"] == field)
}

#[tokio::test]
async fn every_lead_change_is_recorded_with_who_what_and_which_request() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let created = app.post(&t.path("/leads"), &t.admin(), lead_body(1)).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap();
    let path = t.path(&format!("/leads/{id}"));
    let updated = app
        .patch(&path, &t.token(Role::SalesRep), json!({"version": 1, "status": "contacted", "notes": "called"}))
        .await;
    assert_eq!(updated.status, 200);
    app.delete(&path, &t.admin()).await;

    let records = trail(&app, &t, "").await;
    assert_eq!(actions(&records), ["lead.archive", "lead.update", "lead.create"]);
    let create = &records[2];
    assert_eq!(create["entity_type"], "lead");
    assert_eq!(create["entity_id"], id);
    assert_eq!(create["actor_id"], t.user_id.as_str());
    assert_eq!(create["role"], "admin");
    assert_eq!(create["request_id"], created.header("x-request-id").unwrap());
    assert_eq!(change(create, "email").unwrap()["after"], "ana.1@acme.example");
    assert_eq!(change(create, "email").unwrap()["before"], Value::Null);
    let update = &records[1];
    assert_eq!(update["role"], "sales_rep");
    assert_eq!(update["request_id"], updated.header("x-request-id").unwrap());
    assert_eq!(change(update, "status").unwrap()["before"], "new");
    assert_eq!(change(update, "status").unwrap()["after"], "contacted");
    assert!(change(update, "email").is_none(), "only changed fields are recorded");
    assert_eq!(change(&records[0], "status").unwrap()["after"], "archived");

    // Filters: by entity, by actor, by time; paging.
    assert_eq!(trail(&app, &t, &format!("entity_type=lead&entity_id={id}")).await.len(), 3);
    assert_eq!(
        actions(&trail(&app, &t, &format!("actor_id={}", t.user_id)).await),
        ["lead.archive", "lead.update", "lead.create"]
    );
    assert!(trail(&app, &t, "actor_id=someone-else").await.is_empty());
    assert!(trail(&app, &t, "to=2020-01-01T00:00:00Z").await.is_empty());
    assert_eq!(trail(&app, &t, "from=2020-01-01T00:00:00Z&entity_type=lead").await.len(), 3);
    let page = app.get("/api/audit?limit=1", &t.admin()).await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = app.get(&format!("/api/audit?limit=1&cursor={cursor}"), &t.admin()).await;
    assert_eq!(next.body["items"][0]["action"], "lead.update");
    let other_query = app.get(&format!("/api/audit?limit=1&actor_id=x&cursor={cursor}"), &t.admin()).await;
    assert_eq!(other_query.status, 400);
}

#[tokio::test]
async fn writes_that_fail_leave_no_record() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let path = t.path(&format!("/leads/{}", lead["id"].as_str().unwrap()));
    let failures = [
        app.post(&t.path("/leads"), &t.admin(), json!({"first_name": "A"})).await.status,
        app.post(&t.path("/leads"), &t.admin(), lead_body(1)).await.status,
        app.patch(&path, &t.admin(), json!({"version": 7, "notes": "stale"})).await.status,
        app.patch(&path, &t.admin(), json!({"version": 1, "status": "converted"})).await.status,
        app.patch(&path, &t.token(Role::Viewer), json!({"version": 1, "notes": "x"})).await.status,
        app.delete(&path, &t.token(Role::Viewer)).await.status,
    ];
    assert_eq!(failures.map(|s| s.as_u16()), [400, 409, 409, 422, 403, 403]);
    // An idempotent replay is not a second change either.
    let key = [("idempotency-key", "k-1")];
    for _ in 0..2 {
        app.call(Method::POST, &t.path("/leads"), Some(&t.admin()), Some(lead_body(2)), &key).await;
    }
    assert_eq!(actions(&trail(&app, &t, "").await), ["lead.create", "lead.create"]);
}

#[tokio::test]
async fn only_the_companys_administrators_read_its_trail() {
    let app = keel_tests::app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    capture(&app, &a, lead_body(1)).await;
    for role in [Role::Manager, Role::SalesRep, Role::Viewer] {
        assert_eq!(app.get("/api/audit", &a.token(role)).await.status, 403, "{role:?}");
    }
    assert_eq!(app.call(Method::GET, "/api/audit", None, None, &[]).await.status, 401);
    assert!(trail(&app, &b, "").await.is_empty(), "another company's administrators see nothing of A");
    let long = "u".repeat(5000);
    let (by_actor, by_entity) = (format!("actor_id={long}"), format!("entity_type=lead&entity_id={long}"));
    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("entity_id=1", "entity_type"),
        (by_actor.as_str(), "actor_id"),
        (by_entity.as_str(), "entity_id"),
        ("limit=0", "limit"),
        ("user=1", "user"),
    ] {
        let r = app.get(&format!("/api/audit?{query}"), &a.admin()).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec![field.to_string()]), "{query}");
    }
    // One instant is a range too.
    let r = app.get("/api/audit?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", &a.admin()).await;
    assert_eq!(r.status, 200);
}

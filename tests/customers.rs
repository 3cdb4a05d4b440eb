//! Accounts and contacts through the deployed routes: never deleted, lifecycle moves, filters,
//! the one-Query overview however long the history, one primary contact per account under
//! concurrency, moves between accounts and managers' deletes.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use keel_core::activity::{Activity, ActivityType, RecordKind, Related};
use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use serde_json::{json, Value};

async fn account(app: &TestApp, t: &Tenant, body: Value) -> Value {
    let r = app.post(&t.path("/customers"), &t.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn contact(app: &TestApp, t: &Tenant, account_id: &str, last: &str, extra: Value) -> Value {
    let mut body = json!({"account_id": account_id, "first_name": "Sam", "last_name": last});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post(&t.path("/contacts"), &t.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn names(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn accounts_move_through_their_lifecycle_and_are_never_deleted() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let a = account(
        &app,
        &t,
        json!({"name": "Globex Corp", "type": "prospect", "industry": "Energy",
        "address": {"city": "Lisbon", "country": "PT"}, "size": "51-200"}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    let path = t.path(&format!("/customers/{id}"));
    assert_eq!((a["lifecycle"].as_str(), a["health"]["band"].as_str()), (Some("prospect"), Some("at_risk")));

    let r = app.patch(&path, &t.admin(), json!({"version": 1, "lifecycle": "churned"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["lifecycle".to_string()]), "a prospect never bought");
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("allowed: customer, inactive"));
    let r = app.patch(&path, &t.admin(), json!({"version": 1, "lifecycle": "customer"})).await;
    assert_eq!((r.status.as_u16(), r.header("etag")), (200, Some("\"2\"")), "{:?}", r.body);
    let stale = app.patch(&path, &t.admin(), json!({"version": 1, "industry": "Utilities"})).await;
    assert_eq!((stale.status.as_u16(), stale.body["current_version"].as_u64()), (409, Some(2)));

    let deleted = app.delete(&path, &t.admin()).await;
    assert_eq!(deleted.status, 405, "{:?}", deleted.body);
    assert_eq!(deleted.body["type"], "/api/problems/never-deleted");
    assert!(deleted.body["detail"].as_str().unwrap().contains("inactive"));
    assert_eq!(app.get(&path, &t.admin()).await.status, 200, "still there");

    let r = app.patch(&path, &t.admin(), json!({"version": 2, "lifecycle": "inactive"})).await;
    assert_eq!(r.status, 200);
    assert!(names(&app.get(&t.path("/customers"), &t.admin()).await.body).is_empty(), "inactive leaves default lists");
    let inactive = app.get(&t.path("/customers?lifecycle=inactive"), &t.admin()).await;
    assert_eq!(names(&inactive.body), ["Globex Corp"]);
    assert_eq!(app.get(&path, &t.admin()).await.body["lifecycle"], "inactive", "its history stays readable");
    let r = app.patch(&path, &t.admin(), json!({"version": 3, "lifecycle": "prospect"})).await;
    assert_eq!(r.body["lifecycle"], "prospect", "and it can come back");
}

#[tokio::test]
async fn accounts_list_by_name_with_filters() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    for (name, kind) in [("Initech Ltd", "partner"), ("Initrode", "prospect"), ("Hooli Inc.", "prospect")] {
        account(&app, &t, json!({"name": name, "type": kind})).await;
    }
    let own = app.post(&t.path("/customers"), &rep, json!({"name": "Ini Rep Co", "industry": "Retail"})).await;
    assert_eq!(own.body["owner_id"], "rep-1");
    let admin = t.admin();
    let list = |q: &str| {
        let path = t.path(&format!("/customers?{q}"));
        let admin = admin.clone();
        let app = &app;
        async move { app.get(&path, &admin).await }
    };
    assert_eq!(names(&list("").await.body), ["Hooli Inc.", "Ini Rep Co", "Initech Ltd", "Initrode"]);
    assert_eq!(names(&list("name=ini").await.body), ["Ini Rep Co", "Initech Ltd", "Initrode"]);
    assert_eq!(names(&list("name=initech%20limited").await.body), ["Initech Ltd"], "legal forms aside");
    assert_eq!(names(&list("type=partner").await.body), ["Initech Ltd"]);
    assert_eq!(names(&list("owner_id=rep-1").await.body), ["Ini Rep Co"]);
    assert_eq!(names(&list("industry=Retail&lifecycle=prospect").await.body), ["Ini Rep Co"]);
    let first = list("limit=2").await;
    let next = list(&format!("limit=2&cursor={}", first.body["next_cursor"].as_str().unwrap())).await;
    assert_eq!(names(&next.body), ["Initech Ltd", "Initrode"]);
    for (q, field) in [("lifecycle=gone", "lifecycle"), ("type=friend", "type"), ("limit=0", "limit")] {
        let r = list(q).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec![field.to_string()]), "{q}");
    }
}

#[tokio::test]
async fn bad_accounts_and_contacts_are_named_and_nothing_is_written() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let r = app
        .post(
            &t.path("/customers"),
            &t.admin(),
            json!({"name": " ", "website": "data:text/html,hi", "size": "huge", "domain": "not a domain",
                "address": {"country": "Portugal"}}),
        )
        .await;
    assert_eq!(r.error_fields(), ["website", "domain", "name", "size", "address.country"]);
    let r = app.post(&t.path("/customers"), &t.admin(), json!({"name": "X", "type": "friend"})).await;
    assert_eq!(r.status, 400);
    let r = app.post(&t.path("/customers"), &t.admin(), json!({"name": "X", "owner_id": "nobody"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["owner_id".to_string()]));
    assert!(names(&app.get(&t.path("/customers"), &t.admin()).await.body).is_empty());

    let r =
        app.post(&t.path("/contacts"), &t.admin(), json!({"first_name": "A", "last_name": "B", "email": "nope"})).await;
    assert_eq!(r.error_fields(), ["account_id", "email"]);
    let r = app
        .post(
            &t.path("/contacts"),
            &t.admin(),
            json!({"account_id": "01JD7Z3K8Q6W9X2Y4B5C6D7E8F", "first_name": "A", "last_name": "B"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["account_id".to_string()]), "no such account");
    let r = app
        .post(
            &t.path("/contacts"),
            &t.admin(),
            json!({"account_id": "x", "first_name": "A", "last_name": "B", "roles": ["boss"]}),
        )
        .await;
    assert_eq!(r.status, 400, "unknown role");
    assert_eq!(app.get(&t.path("/contacts"), &t.admin()).await.body["items"], json!([]));
}

#[tokio::test]
async fn one_primary_contact_per_account_even_when_many_ask_at_once() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let a = account(&app, &t, json!({"name": "Umbrella"})).await;
    let id = a["id"].as_str().unwrap().to_string();
    let first = contact(&app, &t, &id, "First", json!({"roles": ["technical"]})).await;
    assert_eq!(first["primary"], true);
    let second =
        contact(&app, &t, &id, "Second", json!({"primary": true, "roles": ["executive", "decision_maker"]})).await;
    assert_eq!(second["roles"], json!(["decision_maker", "executive"]));
    let first_now = app.get(&t.path(&format!("/contacts/{}", first["id"].as_str().unwrap())), &t.admin()).await.body;
    assert_eq!((first_now["primary"].as_bool(), first_now["version"].as_u64()), (Some(false), Some(2)));
    let r = app
        .patch(
            &t.path(&format!("/contacts/{}", second["id"].as_str().unwrap())),
            &t.admin(),
            json!({"version": 1, "primary": false}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["primary".to_string()]));

    // Ten people each make a new contact the primary at once: one primary at the end.
    let token = t.admin();
    let path = t.path("/contacts");
    let answers = futures::future::join_all((0..10).map(|n| {
        app.post(
            &path,
            &token,
            json!({"account_id": id, "first_name": "P", "last_name": format!("Racer {n}"), "primary": true}),
        )
    }))
    .await;
    assert!(
        answers.iter().all(|r| r.status == 201 || r.status == 409),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let o = app.get(&t.path(&format!("/customers/{id}/overview")), &t.admin()).await.body;
    let primaries: Vec<&Value> = o["contacts"].as_array().unwrap().iter().filter(|c| c["primary"] == true).collect();
    assert_eq!(primaries.len(), 1, "{:?}", o["contacts"]);
    assert_eq!(o["account"]["primary_contact_id"], primaries[0]["contact_id"]);
    let created = answers.iter().filter(|r| r.status == 201).count() as u64;
    assert_eq!(o["account"]["contact_count"].as_u64(), Some(2 + created));
    assert_eq!(o["contacts"].as_array().unwrap().len() as u64, 2 + created);
    let listed = app.get(&t.path(&format!("/contacts?account_id={id}&limit=200")), &t.admin()).await.body;
    let flagged = listed["items"].as_array().unwrap().iter().filter(|c| c["primary"] == true).count();
    assert_eq!(flagged, 1, "the contacts agree with their summaries");
    let roles = app.get(&t.path("/contacts?role=executive"), &t.admin()).await.body;
    assert_eq!(roles["items"].as_array().unwrap().len(), 1);

    // Taking the primary role changes the account: a sales rep who does not own it may not.
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let r =
        app.post(&path, &rep, json!({"account_id": id, "first_name": "R", "last_name": "Rep", "primary": true})).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    let r = app.post(&path, &rep, json!({"account_id": id, "first_name": "R", "last_name": "Rep"})).await;
    assert_eq!((r.status.as_u16(), r.body["primary"].as_bool()), (201, Some(false)), "adding one is fine");
    let own = t.path(&format!("/contacts/{}", r.body["id"].as_str().unwrap()));
    let r = app.patch(&own, &rep, json!({"version": 1, "primary": true})).await;
    assert_eq!(r.status, 403, "nor by promoting their own contact: {:?}", r.body);
    // Every demotion and primary switch is in the audit trail.
    let audit = keel_tests::audit_records(&app, &t).await;
    let demoted = audit.iter().any(|i| {
        i["action"].as_s().unwrap() == "contact.update"
            && i["entity_id"].as_s().unwrap() == first["id"].as_str().unwrap()
    });
    assert!(demoted, "the first contact's demotion is audited");
    let switches = audit
        .iter()
        .filter(|i| i["action"].as_s().unwrap() == "account.update" && i["entity_id"].as_s().unwrap().as_str() == id)
        .count();
    assert!(switches >= 2, "the account's primary contact changes are audited ({switches})");
}

#[tokio::test]
async fn a_contact_moves_with_its_history_and_managers_delete() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let from = account(&app, &t, json!({"name": "From Co"})).await;
    let to = account(&app, &t, json!({"name": "To Co"})).await;
    let (from_id, to_id) = (from["id"].as_str().unwrap(), to["id"].as_str().unwrap());
    let c = contact(&app, &t, from_id, "Mover", json!({})).await;
    let path = t.path(&format!("/contacts/{}", c["id"].as_str().unwrap()));
    let r = app.patch(&path, &t.admin(), json!({"version": 1, "account_id": to_id})).await;
    assert_eq!((r.status.as_u16(), r.body["account_id"].as_str()), (200, Some(to_id)), "{:?}", r.body);
    assert_eq!(r.body["primary"], true, "the first contact of its new account");
    let from_now = app.get(&t.path(&format!("/customers/{from_id}/overview")), &t.admin()).await.body;
    assert_eq!(
        (from_now["account"]["contact_count"].as_u64(), from_now["contacts"].as_array().unwrap().len()),
        (Some(0), 0)
    );
    assert_eq!(from_now["account"]["primary_contact_id"], Value::Null);
    let to_now = app.get(&t.path(&format!("/customers/{to_id}/overview")), &t.admin()).await.body;
    assert_eq!(to_now["contacts"][0]["contact_id"], c["id"]);
    let moved = keel_tests::outbox(&app, &t).await.into_iter().find(|e| e["detail"]["change"] == "moved").unwrap();
    assert_eq!(moved["detail"]["previous_account_id"], from_id);

    assert_eq!(app.delete(&path, &rep).await.status, 403, "sales reps do not delete contacts");
    assert_eq!(app.delete(&path, &manager).await.status, 204);
    assert_eq!(app.get(&path, &t.admin()).await.status, 404);
    assert_eq!(app.delete(&path, &manager).await.status, 204, "a retried delete finds it done");
    let to_after = app.get(&t.path(&format!("/customers/{to_id}")), &t.admin()).await.body;
    assert_eq!((to_after["contact_count"].as_u64(), to_after["primary_contact_id"].clone()), (Some(0), Value::Null));
    let audit = keel_tests::audit_records(&app, &t).await;
    let record = audit.iter().find(|i| i["action"].as_s().unwrap() == "contact.delete").expect("audited");
    assert_eq!(record["actor_id"].as_s().unwrap(), "manager-1");
}

/// Writes `n` activities straight onto an account's timeline (as the activities context will).
async fn history(app: &TestApp, t: &Tenant, account_id: &str, n: usize) {
    let keys = keel_store::TenantKeys::new(&t.id);
    let now = chrono::Utc::now();
    // Monotonic ids: "newest" is well defined even within one millisecond.
    let mut ids = ulid::Generator::new();
    let entries: Vec<WriteRequest> = (0..n)
        .map(|i| {
            let activity = Activity {
                id: ids.generate().unwrap(),
                activity_type: ActivityType::Call,
                subject: format!("Call {i}"),
                body: None,
                related: vec![Related { kind: RecordKind::Account, id: account_id.into() }],
                occurred_at: now,
                duration_minutes: Some(15),
                outcome: None,
                owner_id: t.user_id.clone(),
                created_by: t.user_id.clone(),
                created_at: now,
                version: 1,
                shown_on: vec![],
            };
            let item = keel_store::crm::timeline_items(&keys, &activity).unwrap().remove(0);
            WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().unwrap()).build()
        })
        .collect();
    for chunk in entries.chunks(25) {
        let mut pending = std::collections::HashMap::from([(app.state.db.table.clone(), chunk.to_vec())]);
        while !pending.is_empty() {
            let out = app.state.db.client.batch_write_item().set_request_items(Some(pending)).send().await.unwrap();
            pending = out.unprocessed_items.unwrap_or_default().into_iter().filter(|(_, v)| !v.is_empty()).collect();
        }
    }
}

#[tokio::test]
async fn the_overview_is_one_query_however_long_the_history() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let a = account(&app, &t, json!({"name": "Stark Industries"})).await;
    let id = a["id"].as_str().unwrap();
    contact(&app, &t, id, "Potts", json!({"roles": ["executive"]})).await;
    contact(&app, &t, id, "Hogan", json!({})).await;
    history(&app, &t, id, 1000).await;
    let path = t.path(&format!("/customers/{id}/overview"));
    app.get(&path, &t.admin()).await; // the user's standing is read once per process and cached
    app.take_requests();
    let o = app.get(&path, &t.admin()).await;
    assert_eq!(app.take_requests(), [("Query".to_string(), 1)].into());
    assert_eq!(o.body["contacts"][0]["last_name"], "Potts", "primary first");
    assert_eq!(o.body["contacts"].as_array().unwrap().len(), 2);
    let activities = o.body["latest_activities"].as_array().unwrap();
    assert_eq!(
        (activities.len(), activities[0]["subject"].as_str()),
        (10, Some("Call 999")),
        "the latest, newest first"
    );
}

#[tokio::test]
async fn a_won_deal_makes_its_account_a_customer_once() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let a = account(&app, &t, json!({"name": "Wayne Enterprises"})).await;
    let id = a["id"].as_str().unwrap();
    let deal = keel_events::DealWon {
        opportunity_id: ulid::Ulid::new().to_string(),
        account_id: id.to_string(),
        version: 3,
        amount: Some(keel_core::Money { value_minor: 1_200_000, currency: "USD".into() }),
        owner_id: t.user_id.clone(),
    };
    let actor = keel_events::Actor { user_id: t.user_id.clone(), role: "admin".into() };
    let event = keel_events::Envelope::new(&t.id, actor.clone(), chrono::Utc::now(), &deal);
    // A second deal of the same account won at the same moment, in the same batch.
    let other = keel_events::DealWon { opportunity_id: ulid::Ulid::new().to_string(), amount: None, ..deal.clone() };
    let second = keel_events::Envelope::new(&t.id, actor, chrono::Utc::now(), &other);
    let sqs: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({"Records": [
        {"messageId": "m-1", "body": keel_tests::bus_message(&event)},
        {"messageId": "m-2", "body": keel_tests::bus_message(&second)}]}))
    .unwrap();
    // The consumer as its Lambda builds it, from its declaration.
    let keel_function::Trigger::Queue { handler, .. } = keel_customers::revenue_function().trigger else {
        panic!("the revenue function is a queue consumer")
    };
    let handler = handler(keel_function::Runtime::new("AccountRevenueFunction").await).await.unwrap();
    assert!(handler(sqs.clone()).await.batch_item_failures.is_empty());
    assert!(handler(sqs).await.batch_item_failures.is_empty(), "delivered again");
    let after = app.get(&t.path(&format!("/customers/{id}")), &t.admin()).await.body;
    assert_eq!((after["lifecycle"].as_str(), after["won_opportunities"].as_u64()), (Some("customer"), Some(2)));
    assert_eq!(after["won_revenue_minor"], json!({"USD": 1_200_000}));
    assert_eq!(after["version"], 3, "each event applied once; the race settled within the delivery");
    let won = after["health"]["factors"].as_array().unwrap().iter().find(|f| f["factor"] == "won_revenue").unwrap();
    assert_eq!(won["points"], 30);
    let changed =
        keel_tests::outbox(&app, &t).await.into_iter().find(|e| e["detail"]["previous_lifecycle"] == "prospect");
    assert!(changed.is_some(), "AccountChanged says it moved");
}

#[tokio::test]
async fn a_retried_contact_creation_makes_one_contact() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let a = account(&app, &t, json!({"name": "Retry Co"})).await;
    let body = json!({"account_id": a["id"], "first_name": "Once", "last_name": "Only"});
    let key = [("Idempotency-Key", "contact-retry-1")];
    let (path, admin) = (t.path("/contacts"), t.admin());
    let send = || app.call(axum::http::Method::POST, &path, Some(&admin), Some(body.clone()), &key);
    let (first, again) = (send().await, send().await);
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], again.body["id"]);
    let other = app
        .call(
            axum::http::Method::POST,
            &t.path("/contacts"),
            Some(&t.admin()),
            Some(json!({"account_id": a["id"], "first_name": "X", "last_name": "Y"})),
            &key,
        )
        .await;
    assert_eq!(other.status, 422, "the same key with another body");
    let o = app.get(&t.path(&format!("/customers/{}/overview", a["id"].as_str().unwrap())), &t.admin()).await.body;
    assert_eq!(o["account"]["contact_count"], 1);
}

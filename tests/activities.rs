//! Activities and timelines: logging on several records at once, one Query per timeline page,
//! edits with versions by the right people, system activities that never change, and the timeline
//! consumer that records capture, qualification, conversion and stage moves once each — even when
//! events are delivered again — with a converted lead's history on its account and contact.

use axum::http::Method;
use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{capture, eventually, lead_body};
use serde_json::{json, Value};

async fn account(app: &TestApp, t: &Tenant, name: &str) -> String {
    let r = app.post(&t.path("/customers"), &t.admin(), json!({"name": name})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn deal(app: &TestApp, t: &Tenant, account_id: &str) -> Value {
    let body = json!({"name": "Timeline deal", "account_id": account_id, "close_date": "2027-03-31",
        "amount": {"value_minor": 2_500_000, "currency": "EUR"}});
    let r = app.post(&t.path("/deals"), &t.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn timeline(app: &TestApp, t: &Tenant, record: &str) -> Vec<Value> {
    let r = app.get(&t.path(&format!("/{record}/timeline?limit=100")), &t.admin()).await;
    assert_eq!(r.status, 200, "{record}: {:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn subjects(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["subject"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn an_activity_shows_on_every_record_it_relates_to_and_a_timeline_page_is_one_query() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Umbrella").await;
    let d = deal(&app, &t, &acct).await;
    let deal_id = d["id"].as_str().unwrap();
    let call = json!({"type": "call", "subject": "Discovery call", "body": "Talked budget",
        "related": [{"kind": "deal", "id": deal_id}, {"kind": "account", "id": acct}],
        "occurred_at": "2026-11-02T10:00:00Z", "duration_minutes": 30, "outcome": "connected"});
    let r = app.post(&t.path("/activities"), &t.admin(), call.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(r.header("location").is_some_and(|l| l.ends_with(r.body["id"].as_str().unwrap())));
    let id = r.body["id"].as_str().unwrap().to_string();
    // Logged later, but happened earlier: the timeline sorts by when it happened.
    let earlier = json!({"type": "email", "subject": "Intro email", "related": [{"kind": "account", "id": acct}],
        "occurred_at": "2026-11-01T09:00:00Z"});
    assert_eq!(app.post(&t.path("/activities"), &t.admin(), earlier).await.status, 201);

    let path = t.path(&format!("/customers/{acct}/timeline?type=call"));
    app.get(&path, &t.admin()).await; // the user's standing is read once per process and cached
    app.take_requests();
    let page = app.get(&path, &t.admin()).await;
    assert_eq!(app.take_requests(), [("Query".to_string(), 1)].into(), "one Query per page");
    assert_eq!(subjects(page.body["items"].as_array().unwrap()), ["Discovery call"]);
    let on_account: Vec<String> = subjects(&timeline(&app, &t, &format!("customers/{acct}")).await)
        .into_iter()
        .filter(|s| s == "Discovery call" || s == "Intro email")
        .collect();
    assert_eq!(on_account, ["Discovery call", "Intro email"], "newest first by when it happened");
    assert!(subjects(&timeline(&app, &t, &format!("deals/{deal_id}")).await).contains(&"Discovery call".into()));

    // The tenant's list, filtered by type, owner, related record and time.
    let q = format!("/activities?type=call&owner_id={}&related_kind=deal&related_id={deal_id}", t.user_id);
    let listed = app.get(&t.path(&q), &t.admin()).await;
    assert_eq!(subjects(listed.body["items"].as_array().unwrap()), ["Discovery call"], "{:?}", listed.body);
    let window = "/activities?from=2026-11-01T00:00:00Z&to=2026-11-01T23:59:59Z";
    assert_eq!(subjects(app.get(&t.path(window), &t.admin()).await.body["items"].as_array().unwrap()), ["Intro email"]);

    // Moving it in time moves its entries on both timelines; a stale version is a 409.
    let path = t.path(&format!("/activities/{id}"));
    let moved = app.patch(&path, &t.admin(), json!({"version": 1, "occurred_at": "2026-10-30T10:00:00Z"})).await;
    assert_eq!((moved.status.as_u16(), moved.body["version"].as_u64()), (200, Some(2)), "{:?}", moved.body);
    let stale = app.patch(&path, &t.admin(), json!({"version": 1, "subject": "Late"})).await;
    assert_eq!((stale.status.as_u16(), stale.body["current_version"].as_u64()), (409, Some(2)));
    for record in [format!("customers/{acct}"), format!("deals/{deal_id}")] {
        let calls: Vec<Value> =
            timeline(&app, &t, &record).await.into_iter().filter(|i| i["subject"] == "Discovery call").collect();
        assert_eq!(calls.len(), 1, "{record}: one entry, moved");
        assert_eq!(
            (calls[0]["occurred_at"].as_str(), calls[0]["version"].as_u64()),
            (Some("2026-10-30T10:00:00Z"), Some(2))
        );
    }

    // Deleting takes it off every timeline; deleting again answers the same.
    let r = app.call(Method::DELETE, &path, Some(&t.admin()), None, &[("If-Match", "\"2\"")]).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(app.call(Method::DELETE, &path, Some(&t.admin()), None, &[("If-Match", "\"2\"")]).await.status, 204);
    assert_eq!(app.get(&path, &t.admin()).await.status, 404);
    assert!(!subjects(&timeline(&app, &t, &format!("deals/{deal_id}")).await).contains(&"Discovery call".into()));

    // Another company sees none of it and cannot log on these records.
    let other = app.tenant().await;
    let theirs = app.get(&other.path(&format!("/customers/{acct}/timeline")), &other.admin()).await;
    assert_eq!((theirs.status.as_u16(), theirs.body["items"].as_array().map(Vec::len)), (200, Some(0)));
    assert_eq!(app.get(&t.path(&format!("/customers/{acct}/timeline")), &other.admin()).await.status, 404);
    let r = app.post(&other.path("/activities"), &other.admin(), call).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["related".to_string()]), "{:?}", r.body);
    let listed = app.get(&other.path("/activities"), &other.admin()).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn bad_activities_are_named_and_write_nothing() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Soylent").await;
    let on = json!([{"kind": "account", "id": acct}]);
    let six: Vec<Value> = (0..6).map(|_| json!({"kind": "lead", "id": ulid::Ulid::new().to_string()})).collect();
    let cases = [
        (json!({"type": "system", "subject": "Fake", "related": on}), vec!["type"]),
        (json!({"type": "note", "subject": " ", "related": on}), vec!["subject"]),
        (json!({"type": "note", "subject": "x", "related": []}), vec!["related"]),
        (json!({"type": "note", "subject": "x", "related": six}), vec!["related"]),
        (
            json!({"type": "note", "subject": "x", "related": [{"kind": "account", "id": "not a ulid"}]}),
            vec!["related[0].id"],
        ),
        (json!({"type": "note", "subject": "x", "related": [on[0], on[0]]}), vec!["related[1].id"]),
        (json!({"type": "call", "subject": "x", "related": on, "duration_minutes": 20_000}), vec!["duration_minutes"]),
        (
            json!({"type": "call", "subject": "x", "related": on, "occurred_at": "2099-01-01T00:00:00Z"}),
            vec!["occurred_at"],
        ),
        (json!({"type": "call", "subject": "a\nb", "related": on}), vec!["subject"]),
    ];
    for (body, fields) in cases {
        let r = app.post(&t.path("/activities"), &t.admin(), body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.error_fields()),
            (400, fields.iter().map(|f| f.to_string()).collect()),
            "{body}"
        );
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    for body in [
        json!({"type": "meeting", "subject": "x", "related": [{"kind": "planet", "id": acct}]}),
        json!({"type": "meeting", "subject": "x", "related": [{"kind": "account", "id": acct, "extra": 1}]}),
        json!({"type": "dance"}),
    ] {
        let r = app.post(&t.path("/activities"), &t.admin(), body).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
    }
    // A record that does not exist refuses the whole write.
    let ghost = json!({"type": "note", "subject": "x",
        "related": [{"kind": "account", "id": acct}, {"kind": "deal", "id": ulid::Ulid::new().to_string()}]});
    let r = app.post(&t.path("/activities"), &t.admin(), ghost).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["related".to_string()]));
    for q in [
        "type=dance",
        "related_kind=planet&related_id=x",
        "related_kind=deal",
        "from=yesterday",
        "limit=0",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        assert_eq!(app.get(&t.path(&format!("/activities?{q}")), &t.admin()).await.status, 400, "{q}");
    }
    assert_eq!(app.get(&t.path(&format!("/customers/{acct}/timeline?type=x")), &t.admin()).await.status, 400);
    assert_eq!(app.get(&t.path("/customers/not-an-id!/timeline"), &t.admin()).await.status, 404);
    let listed = app.get(&t.path("/activities"), &t.admin()).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(0), "nothing was written");
    assert!(timeline(&app, &t, &format!("customers/{acct}")).await.is_empty());
}

#[tokio::test]
async fn notes_are_edited_by_their_author_or_a_manager_and_system_activities_never() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Tyrell").await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let other_rep = app.user_token(&t, "rep-2", Role::SalesRep).await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let viewer = app.user_token(&t, "viewer-1", Role::Viewer).await;
    let note = json!({"type": "note", "subject": "Prefers mornings", "related": [{"kind": "account", "id": acct}]});
    assert_eq!(app.post(&t.path("/activities"), &viewer, note.clone()).await.status, 403);
    let mut for_other = note.clone();
    for_other["owner_id"] = json!("rep-2");
    assert_eq!(app.post(&t.path("/activities"), &rep, for_other).await.status, 403, "a rep logs only their own");
    let r = app.post(&t.path("/activities"), &rep, note).await;
    assert_eq!((r.status.as_u16(), r.body["created_by"].as_str()), (201, Some("rep-1")));
    let path = t.path(&format!("/activities/{}", r.body["id"].as_str().unwrap()));
    assert_eq!(app.patch(&path, &other_rep, json!({"version": 1, "body": "mine now"})).await.status, 403);
    assert_eq!(app.patch(&path, &viewer, json!({"version": 1, "body": "x"})).await.status, 403);
    assert_eq!(app.patch(&path, &rep, json!({"version": 1, "body": "Call before 10"})).await.status, 200);
    let r = app.patch(&path, &manager, json!({"version": 2, "subject": "Prefers early mornings"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let unchanged = app.patch(&path, &manager, json!({"version": 1, "subject": "Prefers early mornings"})).await;
    assert_eq!(
        (unchanged.status.as_u16(), unchanged.body["version"].as_u64()),
        (200, Some(3)),
        "a retry that already holds"
    );

    // The deal's creation is recorded by the product: it cannot be edited or deleted.
    let d = deal(&app, &t, &acct).await;
    let deal_id = d["id"].as_str().unwrap().to_string();
    eventually("the deal's creation on its timeline", || async {
        timeline(&app, &t, &format!("deals/{deal_id}")).await.iter().any(|i| i["type"] == "system")
    })
    .await;
    let system =
        timeline(&app, &t, &format!("deals/{deal_id}")).await.into_iter().find(|i| i["type"] == "system").unwrap();
    let path = t.path(&format!("/activities/{}", system["id"].as_str().unwrap()));
    let r = app.patch(&path, &t.admin(), json!({"version": 1, "subject": "Rewritten"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["type".to_string()]));
    let r = app.call(Method::DELETE, &path, Some(&t.admin()), None, &[("If-Match", "\"1\"")]).await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn the_timeline_records_capture_qualification_conversion_and_stage_moves_once_each() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(7)).await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let note = json!({"type": "note", "subject": "Met at the fair", "related": [{"kind": "lead", "id": lead_id}]});
    assert_eq!(app.post(&t.path("/activities"), &t.admin(), note).await.status, 201);
    eventually("the capture on the lead's timeline", || async {
        subjects(&timeline(&app, &t, &format!("leads/{lead_id}")).await).contains(&"Lead captured".to_string())
    })
    .await;
    let qualify = json!({"bant": {"budget": 20, "authority": 20, "need": 20, "timeline": 15}});
    assert_eq!(app.post(&t.path(&format!("/leads/{lead_id}/qualify")), &t.admin(), qualify).await.status, 200);
    let converted = app.post(&t.path(&format!("/leads/{lead_id}/convert")), &t.admin(), json!({})).await;
    assert_eq!(converted.status, 201, "{:?}", converted.body);
    let (acct, contact, deal_id) = (
        converted.body["account_id"].as_str().unwrap().to_string(),
        converted.body["contact_id"].as_str().unwrap().to_string(),
        converted.body["opportunity_id"].as_str().unwrap().to_string(),
    );
    let d = app.get(&t.path(&format!("/deals/{deal_id}")), &t.admin()).await.body;
    let moved = app
        .call(
            Method::PUT,
            &t.path(&format!("/deals/{deal_id}/move-stage")),
            Some(&t.admin()),
            Some(json!({"stage": "proposal", "version": d["version"]})),
            &[],
        )
        .await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);

    // The lead's history (its capture, the note) shows on the account and the contact it became.
    for record in [format!("customers/{acct}"), format!("contacts/{contact}")] {
        eventually(&format!("the lead's history on {record}"), || async {
            let s = subjects(&timeline(&app, &t, &record).await);
            s.contains(&"Lead captured".to_string()) && s.contains(&"Met at the fair".to_string())
        })
        .await;
    }
    let stage_move = |items: &[Value]| items.iter().filter(|i| i["type"] == "stage_change").count();
    eventually("the stage move on the deal and the account", || async {
        stage_move(&timeline(&app, &t, &format!("deals/{deal_id}")).await) == 1
            && stage_move(&timeline(&app, &t, &format!("customers/{acct}")).await) == 1
    })
    .await;
    // Logged on the lead after it converted: on the account and contact too.
    let after =
        json!({"type": "call", "subject": "Follow-up on the lead", "related": [{"kind": "lead", "id": lead_id}]});
    let r = app.post(&t.path("/activities"), &t.admin(), after).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    for record in [format!("customers/{acct}"), format!("contacts/{contact}")] {
        assert!(
            subjects(&timeline(&app, &t, &record).await).contains(&"Follow-up on the lead".to_string()),
            "{record}"
        );
    }
    let lead_tl = timeline(&app, &t, &format!("leads/{lead_id}")).await;
    let s = subjects(&lead_tl);
    assert!(s.iter().any(|s| s.starts_with("Qualified with a score of")), "{s:?}");
    assert!(!s.iter().any(|s| s.starts_with("Status changed")), "qualifying and converting are recorded once: {s:?}");
    assert!(s.iter().any(|s| s.starts_with("Lead ") && s.ends_with(" converted")), "{s:?}");
    // Every event again, as a redelivery would: nothing is added twice.
    let events: Vec<keel_events::Envelope> = keel_tests::outbox(&app, &t)
        .await
        .into_iter()
        .map(|e| serde_json::from_value(e).unwrap())
        .filter(|e: &keel_events::Envelope| keel_activities::TIMELINE_EVENTS.contains(&e.detail_type.as_str()))
        .collect();
    let records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"messageId": format!("m-{i}"), "body": keel_tests::bus_message(e)}))
        .collect();
    let sqs: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({"Records": records})).unwrap();
    let keel_function::Trigger::Queue { handler, .. } = keel_activities::timeline_function().trigger else {
        panic!("the timeline function is a queue consumer")
    };
    let handler = handler(keel_function::Runtime::new("TimelineFunction").await).await.unwrap();
    assert!(handler(sqs.clone()).await.batch_item_failures.is_empty());
    assert!(handler(sqs).await.batch_item_failures.is_empty());
    for record in [
        format!("leads/{lead_id}"),
        format!("customers/{acct}"),
        format!("contacts/{contact}"),
        format!("deals/{deal_id}"),
    ] {
        let s = subjects(&timeline(&app, &t, &record).await);
        let mut unique = s.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), s.len(), "{record}: each once: {s:?}");
        assert_eq!(
            s.iter().filter(|s| s.starts_with("Lead ") && s.ends_with(" converted")).count(),
            1,
            "{record}: {s:?}"
        );
    }
    assert_eq!(stage_move(&timeline(&app, &t, &format!("customers/{acct}")).await), 1);
}

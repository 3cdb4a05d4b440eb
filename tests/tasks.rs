//! Tasks: creation with its escalation scheduled, the assignee's due buckets, completion that logs
//! an activity, versions and races, and escalation through the scheduler — once per level under
//! redelivery and parallel scheduler runs — with the managers' notifications and the statistics.
//!
//! The scheduler is global (it hands off every company's due work) and the test run shares one
//! table, so a test that runs it with a clock ahead of real time would escalate other tests' tasks.
//! The escalation test's tasks are due months ago instead, and its clock stays in the past: other
//! tests' entries all lie ahead of real time, out of its reach.

use std::time::{Duration, Instant};

use axum::http::Method;
use chrono::{DateTime, Utc};
use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::outbox;
use serde_json::{json, Value};

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(40);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn task(app: &TestApp, t: &Tenant, token: &str, body: Value) -> Value {
    let r = app.post(&t.path("/tasks"), token, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

fn hours(h: i64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::hours(h)
}

#[tokio::test]
async fn tasks_list_by_due_bucket_and_completing_one_logs_it_on_its_record() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let account = app.post(&t.path("/customers"), &t.admin(), json!({"name": "Initech"})).await;
    let account_id = account.body["id"].as_str().unwrap().to_string();
    let overdue = task(
        &app,
        &t,
        &rep,
        json!({"title": "Send the quote", "due_at": hours(-3),
        "priority": "high", "related": {"kind": "account", "id": account_id}}),
    )
    .await;
    // Due in a minute: today for a viewer at UTC whatever the hour (their day ends after it).
    let today =
        task(&app, &t, &rep, json!({"title": "Call back", "due_at": Utc::now() + chrono::Duration::minutes(1)})).await;
    let later = task(&app, &t, &rep, json!({"title": "Quarterly review", "due_at": hours(24 * 30)})).await;
    let others = task(&app, &t, &t.admin(), json!({"title": "Admin's own", "due_at": hours(-1)})).await;
    assert_eq!((overdue["status"].as_str(), overdue["assignee_id"].as_str()), (Some("open"), Some("rep-1")));
    assert_eq!((overdue["escalation_level"].as_u64(), overdue["version"].as_u64()), (Some(0), Some(1)));

    let (app_ref, t_ref, rep_ref) = (&app, &t, &rep);
    let mine = |q: &str| {
        let path = t_ref.path(&format!("/tasks?assignee=me{q}"));
        async move { app_ref.get(&path, rep_ref).await }
    };
    assert_eq!(ids(&mine("&due=overdue").await.body), [overdue["id"].as_str().unwrap()]);
    assert_eq!(ids(&mine("&due=today").await.body), [today["id"].as_str().unwrap()]);
    let all_mine = ids(&mine("").await.body);
    let expected: Vec<&str> = [&overdue, &today, &later].iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(all_mine, expected, "soonest due first");
    assert_eq!(ids(&mine("&priority=high").await.body), [overdue["id"].as_str().unwrap()]);
    let everyone = ids(&app.get(&t.path("/tasks?due=overdue"), &t.admin()).await.body);
    assert_eq!(everyone.len(), 2, "{everyone:?}");
    assert!(everyone.contains(&others["id"].as_str().unwrap().to_string()));
    let on_account = app.get(&t.path(&format!("/tasks?related_kind=account&related_id={account_id}")), &rep).await;
    assert_eq!(ids(&on_account.body), [overdue["id"].as_str().unwrap()]);

    // Completing it: stamped, listed as closed, and a task activity on the account's timeline.
    let path = t.path(&format!("/tasks/{}", overdue["id"].as_str().unwrap()));
    let done = app.patch(&path, &rep, json!({"version": 1, "status": "done"})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!((done.body["version"].as_u64(), done.body["went_overdue"].as_bool()), (Some(2), Some(true)));
    assert!(done.body["completed_at"].is_string());
    assert!(!ids(&mine("").await.body).contains(&overdue["id"].as_str().unwrap().to_string()));
    assert_eq!(ids(&mine("&status=closed").await.body), [overdue["id"].as_str().unwrap()]);
    let timeline = app.get(&t.path(&format!("/customers/{account_id}/timeline")), &rep).await;
    let items = timeline.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        (items[0]["type"].as_str(), items[0]["subject"].as_str()),
        (Some("task"), Some("Task done: Send the quote"))
    );
    // A done task only reopens; reopening clears the completion, the activity stays.
    let refused = app.patch(&path, &rep, json!({"version": 2, "status": "in_progress"})).await;
    assert_eq!((refused.status.as_u16(), refused.error_fields()), (422, vec!["status".to_string()]));
    let reopened = app.patch(&path, &rep, json!({"version": 2, "status": "open"})).await;
    assert_eq!((reopened.status.as_u16(), reopened.body["completed_at"].is_null()), (200, true));
    assert_eq!(
        app.get(&t.path(&format!("/customers/{account_id}/timeline")), &rep).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The statistics counted it: 4 made by hand, 1 done (then reopened: 0), 1 overdue.
    let stats = app.get(&t.path("/tasks/automation-stats"), &rep).await.body;
    let manual = stats["by_rule"].as_array().unwrap().iter().find(|r| r["key"] == "manual").unwrap().clone();
    assert_eq!(
        (manual["created"].as_i64(), manual["done"].as_i64(), manual["overdue"].as_i64()),
        (Some(4), Some(0), Some(1))
    );
    assert_eq!(stats["by_priority"][2]["key"], "high");
    assert_eq!(stats["by_priority"][2]["created"], 1);
}

#[tokio::test]
async fn task_writes_are_guarded_by_role_version_and_company() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    app.user_token(&t, "rep-2", Role::SalesRep).await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let viewer = app.user_token(&t, "viewer-1", Role::Viewer).await;
    // A rep makes tasks for themselves only; a manager for anyone active in the company.
    let for_other = json!({"title": "For rep 2", "due_at": hours(5), "assignee_id": "rep-2"});
    assert_eq!(app.post(&t.path("/tasks"), &rep, for_other.clone()).await.status, 403);
    assert_eq!(app.post(&t.path("/tasks"), &viewer, json!({"title": "x", "due_at": hours(5)})).await.status, 403);
    let assigned = task(&app, &t, &manager, for_other).await;
    let stranger =
        app.post(&t.path("/tasks"), &manager, json!({"title": "x", "due_at": hours(5), "assignee_id": "nobody"})).await;
    assert_eq!((stranger.status.as_u16(), stranger.error_fields()), (422, vec!["assignee_id".to_string()]));
    let path = t.path(&format!("/tasks/{}", assigned["id"].as_str().unwrap()));
    // Not the assignee: a rep cannot touch it.
    assert_eq!(app.patch(&path, &rep, json!({"version": 1, "title": "Mine now"})).await.status, 403);

    // Bad input names its fields and writes nothing.
    let bad = app
        .post(
            &t.path("/tasks"),
            &manager,
            json!({"title": " ", "due_at": "2040-01-01T00:00:00Z",
            "related": {"kind": "deal", "id": "not an id"}}),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_fields()),
        (400, vec!["title".to_string(), "due_at".into(), "related.id".into()])
    );
    for body in [
        json!({"title": "x", "due_at": hours(1), "priority": "asap"}),
        json!({"title": "x", "due_at": "tomorrow"}),
        json!({"title": "x", "due_at": hours(1), "colour": "red"}),
    ] {
        assert_eq!(app.post(&t.path("/tasks"), &manager, body.clone()).await.status, 400, "{body}");
    }
    let missing = app
        .post(
            &t.path("/tasks"),
            &manager,
            json!({"title": "x", "due_at": hours(1),
            "related": {"kind": "deal", "id": ulid::Ulid::new().to_string()}}),
        )
        .await;
    assert_eq!((missing.status.as_u16(), missing.error_fields()), (422, vec!["related".to_string()]));
    for q in [
        "due=soon",
        "status=maybe",
        "utc_offset=9999",
        "limit=0",
        "assignee=a%20b",
        "priority=asap",
        "related_kind=lead",
    ] {
        let r = app.get(&t.path(&format!("/tasks?{q}")), &manager).await;
        assert_eq!(r.status, 400, "{q}: {:?}", r.body);
    }
    assert_eq!(app.get(&t.path("/tasks?status=closed&due=today"), &manager).await.error_fields(), ["due"]);
    assert_eq!(app.get(&t.path("/tasks?assignee=me"), &manager).await.body["items"].as_array().unwrap().len(), 0);
    let page = app.get(&t.path("/tasks"), &manager).await.body;
    assert_eq!(ids(&page), [assigned["id"].as_str().unwrap()], "nothing else was written");

    // Two edits of the same version: one wins, the other is told the version now.
    let (a, b) = tokio::join!(
        app.patch(&path, &manager, json!({"version": 1, "title": "First"})),
        app.patch(&path, &manager, json!({"version": 1, "title": "Second"})),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let loser = if a.status == 409 { a } else { b };
    assert_eq!(loser.body["current_version"], 2);
    // A retried create with its key makes one task.
    let key = [("Idempotency-Key", "task-create-1")];
    let body = json!({"title": "Once", "due_at": hours(2)});
    let first = app.call(Method::POST, &t.path("/tasks"), Some(&rep), Some(body.clone()), &key).await;
    let again = app.call(Method::POST, &t.path("/tasks"), Some(&rep), Some(body), &key).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], again.body["id"]);
    // Delete needs the version; deleting what is gone answers the same.
    let once = t.path(&format!("/tasks/{}", first.body["id"].as_str().unwrap()));
    assert_eq!(app.delete(&once, &rep).await.status, 428);
    let gone = app.call(Method::DELETE, &once, Some(&rep), None, &[("If-Match", "\"1\"")]).await;
    assert_eq!(gone.status, 204);
    assert_eq!(app.call(Method::DELETE, &once, Some(&rep), None, &[("If-Match", "\"1\"")]).await.status, 204);
    assert_eq!(app.get(&once, &rep).await.status, 404);

    // The escalation policy is the administrators' to set, with its version.
    let policy = t.path("/tasks/escalation-policy");
    assert_eq!(app.get(&policy, &rep).await.body, json!({"delay_hours": 24, "version": 0}));
    assert_eq!(
        app.call(Method::PUT, &policy, Some(&manager), Some(json!({"delay_hours": 4, "version": 0})), &[]).await.status,
        403
    );
    let bad =
        app.call(Method::PUT, &policy, Some(&t.admin()), Some(json!({"delay_hours": 0, "version": 0})), &[]).await;
    assert_eq!((bad.status.as_u16(), bad.error_fields()), (400, vec!["delay_hours".to_string()]));
    let set =
        app.call(Method::PUT, &policy, Some(&t.admin()), Some(json!({"delay_hours": 4, "version": 0})), &[]).await;
    assert_eq!(set.body, json!({"delay_hours": 4, "version": 1}));
    let stale =
        app.call(Method::PUT, &policy, Some(&t.admin()), Some(json!({"delay_hours": 8, "version": 0})), &[]).await;
    assert_eq!(stale.status, 409);

    // Another company reaches none of it.
    let other = app.tenant().await;
    let theirs = other.path(&format!("/tasks/{}", assigned["id"].as_str().unwrap()));
    assert_eq!(app.get(&theirs, &other.admin()).await.status, 404);
    let foreign = app.get(&path.replace(&t.id, &other.id), &other.admin()).await;
    assert_eq!(foreign.status, 404);
    assert_eq!(app.get(&t.path("/tasks"), &other.admin()).await.status, 404);
    assert_eq!(app.patch(&path, &other.admin(), json!({"version": 2, "title": "B's"})).await.status, 404);
}

async fn notifications(app: &TestApp, t: &Tenant, token: &str) -> Value {
    let r = app.get(&t.path("/notifications"), token).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn escalations(events: &[Value], task_id: &str) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e["detail_type"] == "TaskEscalated" && e["detail"]["task_id"] == task_id)
        .map(|e| e["detail"]["level"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn an_overdue_task_escalates_once_per_level_under_redelivery_and_parallel_scheduler_runs() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let set = app
        .call(
            Method::PUT,
            &t.path("/tasks/escalation-policy"),
            Some(&t.admin()),
            Some(json!({"delay_hours": 4, "version": 0})),
            &[],
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    // Due months ago, so the clock the scheduler is given stays behind every other test's entries.
    let due = Utc::now() - chrono::Duration::days(300);
    let open = task(&app, &t, &rep, json!({"title": "Renewal call", "due_at": due, "priority": "low"})).await;
    let finished = task(&app, &t, &rep, json!({"title": "Done in time", "due_at": due})).await;
    let finished_path = t.path(&format!("/tasks/{}", finished["id"].as_str().unwrap()));
    assert_eq!(app.patch(&finished_path, &rep, json!({"version": 1, "status": "done"})).await.status, 200);
    let path = t.path(&format!("/tasks/{}", open["id"].as_str().unwrap()));
    let id = open["id"].as_str().unwrap().to_string();

    // Three hours late is inside the delay: nothing is handed off for it.
    let scheduler = keel_tests::scheduler().await;
    scheduler(due + chrono::Duration::hours(3)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.get(&path, &rep).await.body["escalation_level"], 0);

    // Four hours and a minute late, two scheduler runs at once, and the entry delivered once more.
    let first = due + chrono::Duration::hours(4) + chrono::Duration::minutes(1);
    let other = keel_tests::scheduler().await;
    let (a, b) = tokio::join!(scheduler(first), other(first));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    let work = keel_store::due::DueWork {
        tenant_id: t.id.clone(),
        kind: keel_store::due::DueKind::TaskEscalation,
        reference: format!("{id}#1"),
        due_at: due + chrono::Duration::hours(4),
    };
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    let url = std::env::var("KEEL_DUE_QUEUE_TASK_WORK_QUEUE").expect("the task work queue from the local stack");
    let again = keel_system::scheduler::delivery(&work).to_string();
    sqs.send_message().queue_url(&url).message_body(again).send().await.unwrap();
    eventually("the first escalation", || async { app.get(&path, &rep).await.body["escalation_level"] == 1 }).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // let the duplicates arrive and be dropped
    let escalated = app.get(&path, &rep).await.body;
    assert_eq!((escalated["escalation_level"].as_u64(), escalated["priority"].as_str()), (Some(1), Some("normal")));
    assert_eq!(escalated["went_overdue"], true);
    let inbox = notifications(&app, &t, &manager).await;
    assert_eq!(inbox["unread"], 1, "{inbox:?}");
    assert_eq!(inbox["items"][0]["task_id"].as_str(), Some(id.as_str()));
    assert!(inbox["items"][0]["title"].as_str().unwrap().contains("Renewal call"));
    // The rep's own task tells the managers, not the rep; the administrator hears only when there is no manager.
    assert_eq!(notifications(&app, &t, &rep).await["unread"], 0);
    assert_eq!(notifications(&app, &t, &t.admin()).await["unread"], 0);
    assert_eq!(escalations(&outbox(&app, &t).await, &id), [1]);
    assert_eq!(app.get(&finished_path, &rep).await.body["escalation_level"], 0, "a done task is never escalated");

    // The next level falls due a delay later, and again only once.
    let second = due + chrono::Duration::hours(8) + chrono::Duration::minutes(1);
    let (a, b) = tokio::join!(scheduler(second), other(second));
    assert!(a.is_ok() && b.is_ok());
    eventually("the second escalation", || async { app.get(&path, &rep).await.body["escalation_level"] == 2 }).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.get(&path, &rep).await.body["priority"], "high");
    assert_eq!(escalations(&outbox(&app, &t).await, &id), [1, 2]);
    let inbox = notifications(&app, &t, &manager).await;
    assert_eq!(inbox["unread"], 2);
    let stats = app.get(&t.path("/tasks/automation-stats"), &rep).await.body;
    let manual = stats["by_rule"].as_array().unwrap().iter().find(|r| r["key"] == "manual").unwrap().clone();
    assert_eq!(
        (manual["created"].as_i64(), manual["overdue"].as_i64(), manual["done"].as_i64()),
        (Some(2), Some(2), Some(1))
    );
    // Overdue: the escalated one, and the one completed long after its due time.
    assert_eq!(stats["by_priority"][0]["created"], 1, "counted by the priority it was made with");

    // Marking one read: once, by its owner only; another company's or person's id is a 404.
    let note = inbox["items"][0]["id"].as_str().unwrap();
    let read = t.path(&format!("/notifications/{note}/read"));
    assert_eq!(app.post(&read, &manager, json!({})).await.status, 204);
    assert_eq!(app.post(&read, &manager, json!({})).await.status, 204);
    assert_eq!(notifications(&app, &t, &manager).await["unread"], 1);
    assert_eq!(app.post(&read, &rep, json!({})).await.status, 404);
    let b = app.tenant().await;
    assert_eq!(app.post(&read.replace(&t.id, &b.id), &b.admin(), json!({})).await.status, 404);
    assert_eq!(app.post(&read, &b.admin(), json!({})).await.status, 404);
    assert_eq!(app.post(&t.path("/notifications/not-an-id/read"), &manager, json!({})).await.status, 404);
}

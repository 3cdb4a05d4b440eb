//! Tasks: creation with its escalation scheduled, the assignee's due buckets, completion that logs
//! an activity, versions and races, and escalation through the scheduler — once per level under
//! redelivery and parallel scheduler runs — with the managers' notifications and the statistics.
//!
//! The scheduler is global (it hands off every company's due work) and the test run shares one
//! table. Tests that run it take turns (the `scheduler` test group in `.config/nextest.toml`), and
//! their clocks stay within an hour or so of real time or go back in time: every other test's
//! entries lie a day or more ahead, out of their reach.

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
    // A bucket pages like any list: the cursor holds the bucket, not the times of the first page.
    let first = app.get(&t.path("/tasks?due=overdue&limit=1"), &t.admin()).await.body;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = app.get(&t.path(&format!("/tasks?due=overdue&limit=1&cursor={cursor}")), &t.admin()).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let mut both = [ids(&first), ids(&second.body)].concat();
    both.sort();
    let mut expected = everyone.clone();
    expected.sort();
    assert_eq!(both, expected);
    // Moving a due time replaces its escalation's entry in the due-time index.
    let entry = |task: &Value, due: &str| keel_store::due::DueWork {
        tenant_id: t.id.clone(),
        kind: keel_store::due::DueKind::TaskEscalation,
        reference: format!("{}#1", task["id"].as_str().unwrap()),
        due_at: due.parse::<DateTime<Utc>>().unwrap() + chrono::Duration::hours(24),
    };
    let moved_to = (Utc::now() + chrono::Duration::days(40)).to_rfc3339();
    let later_path = t.path(&format!("/tasks/{}", later["id"].as_str().unwrap()));
    let moved = app.patch(&later_path, &rep, json!({"version": 1, "due_at": moved_to})).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    let at = |w: keel_store::due::DueWork| {
        let (pk, sk) = w.key();
        let db = app.state.db.clone();
        async move { db.get(&pk, &sk).await.unwrap().is_some() }
    };
    assert!(!at(entry(&later, later["due_at"].as_str().unwrap())).await, "the old entry is gone");
    assert!(at(entry(&moved.body, moved.body["due_at"].as_str().unwrap())).await, "the new one is there");
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

    // A bad edit names its field and changes nothing.
    for (body, field) in [
        (json!({"version": 1, "priority": "asap"}), None),
        (json!({"version": 1, "title": "  "}), Some("title")),
        (json!({"version": 1, "due_at": "2001-01-01T00:00:00Z"}), Some("due_at")),
        (json!({"version": 1, "assignee_id": ""}), Some("assignee_id")),
        (json!({"version": 1, "colour": "red"}), None),
    ] {
        let r = app.patch(&path, &manager, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        if let Some(f) = field {
            assert_eq!(r.error_fields(), [f], "{body}");
        }
    }
    assert_eq!(app.get(&path, &manager).await.body["version"], 1);
    assert_eq!(app.patch(&path, &manager, json!({"title": "No version"})).await.status, 428);
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

async fn rule(app: &TestApp, t: &Tenant, token: &str, body: Value) -> Value {
    let r = app.post(&t.path("/tasks/automation-rules"), token, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn tasks_on(app: &TestApp, t: &Tenant, kind: &str, id: &str) -> Vec<Value> {
    let path = t.path(&format!("/tasks?related_kind={kind}&related_id={id}"));
    let open = app.get(&path, &t.admin()).await.body["items"].as_array().unwrap().clone();
    let closed = app.get(&format!("{path}&status=closed"), &t.admin()).await.body["items"].as_array().unwrap().clone();
    open.into_iter().chain(closed).collect()
}

fn website_lead(n: u32) -> Value {
    let mut body = keel_tests::lead_body(n);
    body["source"] = json!("Website");
    body
}

#[tokio::test]
async fn automation_rules_make_one_task_per_lead_and_rule_under_concurrent_runs() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let path = t.path("/tasks/automation-rules");
    let call = json!({"name": "Website leads: call within the hour", "trigger": "lead_created", "source": "website",
        "task_title": "Call {name}", "task_priority": "high", "due_in_hours": 1});
    assert_eq!(app.post(&path, &rep, call.clone()).await.status, 403, "managers keep the rules");
    let bad = app
        .post(&path, &manager, json!({"name": "", "trigger": "lead_idle", "task_title": "x", "due_in_hours": 900}))
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_fields()),
        (400, vec!["name".to_string(), "idle_hours".into(), "due_in_hours".into()])
    );
    assert_eq!(
        app.post(&path, &manager, json!({"name": "x", "trigger": "whenever", "task_title": "x", "due_in_hours": 1}))
            .await
            .status,
        400
    );

    // A captured website lead gets the tasks of both rules from the bus (of the same priority, so
    // one counter moves twice in the transaction), for its owner, the call due within the hour.
    let live = rule(&app, &t, &manager, call).await;
    rule(
        &app,
        &t,
        &manager,
        json!({"name": "Website leads: the deck", "trigger": "lead_created", "source": "Website",
        "task_title": "Send {name} the deck", "task_priority": "high", "due_in_hours": 24}),
    )
    .await;
    let lead = keel_tests::capture(&app, &t, website_lead(1)).await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let other_source = keel_tests::capture(&app, &t, keel_tests::lead_body(2)).await;
    eventually("the call and deck tasks", || async { tasks_on(&app, &t, "lead", &lead_id).await.len() == 2 }).await;
    let made = tasks_on(&app, &t, "lead", &lead_id).await.into_iter().find(|x| x["rule_id"] == live["id"]).unwrap();
    let name = format!("{} {}", lead["first_name"].as_str().unwrap(), lead["last_name"].as_str().unwrap());
    assert_eq!(made["title"].as_str(), Some(format!("Call {name}").as_str()));
    assert_eq!(
        (made["rule_id"].as_str(), made["assignee_id"].as_str()),
        (live["id"].as_str(), lead["owner_id"].as_str())
    );
    assert_eq!(made["priority"], "high");
    let due: DateTime<Utc> = made["due_at"].as_str().unwrap().parse().unwrap();
    assert!(due > Utc::now() && due <= Utc::now() + chrono::Duration::hours(1));

    // A rule added switched off: leads captured meanwhile get nothing until it runs on demand.
    let idle_off = rule(
        &app,
        &t,
        &manager,
        json!({"name": "Website leads: first touch", "trigger": "lead_created",
        "source": "Website", "task_title": "Introduce us to {name}", "due_in_hours": 24, "active": false}),
    )
    .await;
    let mut waiting = Vec::new();
    for n in 3..8 {
        waiting.push(keel_tests::capture(&app, &t, website_lead(n)).await["id"].as_str().unwrap().to_string());
    }
    // The bus brings each to the live rules (call and deck) and finds the other one off.
    for id in &waiting {
        eventually("the call and deck tasks", || async { tasks_on(&app, &t, "lead", id).await.len() == 2 }).await;
    }
    let rule_path = format!("{path}/{}", idle_off["id"].as_str().unwrap());
    let on = app.patch(&rule_path, &manager, json!({"version": 1, "active": true})).await;
    assert_eq!((on.status.as_u16(), on.body["version"].as_u64()), (200, Some(2)), "{:?}", on.body);
    let run = t.path("/tasks/auto-create-for-leads");
    assert_eq!(app.post(&run, &rep, json!({})).await.status, 403);
    assert_eq!(app.post(&run, &manager, json!({"limit": 0})).await.error_fields(), ["limit"]);
    let (a, b, c) = tokio::join!(
        app.post(&run, &manager, json!({})),
        app.post(&run, &manager, json!({})),
        app.post(&run, &manager, json!({"limit": 100})),
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let made_by = |r: &keel_testkit::TestResponse, id: &Value| {
        r.body["by_rule"].as_array().unwrap().iter().find(|x| &x["rule_id"] == id).unwrap()["created"].as_u64().unwrap()
    };
    let introduced: u64 = [&a, &b, &c].iter().map(|r| made_by(r, &idle_off["id"])).sum();
    assert_eq!(introduced, 5, "one task per lead however many runs: {:?} {:?} {:?}", a.body, b.body, c.body);
    for id in &waiting {
        let rule_tasks: Vec<Value> =
            tasks_on(&app, &t, "lead", id).await.into_iter().filter(|x| x["rule_id"] == idle_off["id"]).collect();
        assert_eq!(rule_tasks.len(), 1, "lead {id}");
    }
    assert!(tasks_on(&app, &t, "lead", other_source["id"].as_str().unwrap()).await.is_empty(), "not a website lead");
    // Done or not, a lead_created rule acts once per lead.
    let first =
        tasks_on(&app, &t, "lead", &waiting[0]).await.into_iter().find(|x| x["rule_id"] == idle_off["id"]).unwrap();
    let done = app
        .patch(
            &t.path(&format!("/tasks/{}", first["id"].as_str().unwrap())),
            &t.admin(),
            json!({"version": first["version"], "status": "done"}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let again = app.post(&run, &manager, json!({})).await.body;
    assert_eq!(
        (again["created"].as_u64(), again["already_open"].as_u64(), again["examined"].as_u64()),
        (Some(0), Some(17), Some(7))
    );
    let stats = app.get(&t.path("/tasks/automation-stats"), &rep).await.body;
    let counted = stats["by_rule"].as_array().unwrap().iter().find(|r| r["key"] == idle_off["id"]).unwrap().clone();
    assert_eq!((counted["created"].as_i64(), counted["done"].as_i64()), (Some(5), Some(1)));
    assert_eq!(counted["completion_rate"].as_f64(), Some(0.2));

    // Rules are versioned, refuse bad edits, and another company sees none of them.
    assert_eq!(app.patch(&rule_path, &manager, json!({"version": 1, "name": "stale"})).await.status, 409);
    let bad = app.patch(&rule_path, &manager, json!({"version": 2, "min_score": 101, "idle_hours": 5})).await;
    assert_eq!((bad.status.as_u16(), bad.error_fields()), (400, vec!["idle_hours".to_string(), "min_score".into()]));
    assert_eq!(
        app.patch(&rule_path, &manager, json!({"version": 2, "trigger": "deal_idle"})).await.status,
        400,
        "the trigger stays"
    );
    assert_eq!(app.patch(&rule_path, &rep, json!({"version": 2, "active": false})).await.status, 403);
    assert_eq!(app.delete(&rule_path, &manager).await.status, 428);
    assert_eq!(app.get(&path, &rep).await.body["items"].as_array().unwrap().len(), 3);
    let b = app.tenant().await;
    assert_eq!(app.get(&path, &b.admin()).await.status, 404);
    assert_eq!(app.patch(&rule_path, &b.admin(), json!({"version": 2, "active": false})).await.status, 404);
    assert_eq!(
        app.patch(&rule_path.replace(&t.id, &b.id), &b.admin(), json!({"version": 2, "active": false})).await.status,
        404
    );
    assert_eq!(app.post(&run, &b.admin(), json!({})).await.status, 404);
    assert_eq!(
        app.get(&b.path("/tasks/automation-rules"), &b.admin()).await.body["items"].as_array().unwrap().len(),
        0
    );
    assert_eq!(app.call(Method::DELETE, &rule_path, Some(&manager), None, &[("If-Match", "\"2\"")]).await.status, 204);
    assert_eq!(app.get(&path, &rep).await.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn idle_rules_follow_up_through_the_scheduler_and_wait_for_the_open_task() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let hot = rule(
        &app,
        &t,
        &manager,
        json!({"name": "Idle leads", "trigger": "lead_idle", "idle_hours": 1,
        "task_title": "Follow up with {name}", "due_in_hours": 2}),
    )
    .await;
    let stale_deal = rule(
        &app,
        &t,
        &manager,
        json!({"name": "Quiet deals", "trigger": "deal_idle", "idle_hours": 1,
        "task_title": "Next step for {name}", "due_in_hours": 4}),
    )
    .await;
    let lead = keel_tests::capture(&app, &t, keel_tests::lead_body(1)).await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let account = app.post(&t.path("/customers"), &t.admin(), json!({"name": "Quiet Co"})).await;
    let deal = app
        .post(
            &t.path("/deals"),
            &t.admin(),
            json!({"name": "Quiet deal",
        "account_id": account.body["id"], "close_date": "2027-06-30"}),
        )
        .await;
    assert_eq!(deal.status, 201, "{:?}", deal.body);
    let deal_id = deal.body["id"].as_str().unwrap().to_string();
    let scheduler = keel_tests::scheduler().await;
    let other = keel_tests::scheduler().await;
    // The bus brings the lead and the deal to the rules, which put their checks an hour ahead;
    // not idle yet at 30 minutes: nothing made.
    tokio::time::sleep(Duration::from_secs(2)).await;
    scheduler(Utc::now() + chrono::Duration::minutes(30)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(tasks_on(&app, &t, "lead", &lead_id).await.is_empty());
    // An hour and two minutes on, two runs at once: one follow-up each.
    let later = Utc::now() + chrono::Duration::minutes(62);
    let (a, b) = tokio::join!(scheduler(later), other(later));
    assert!(a.is_ok() && b.is_ok());
    eventually("the idle follow-ups", || async {
        tasks_on(&app, &t, "lead", &lead_id).await.len() == 1 && tasks_on(&app, &t, "deal", &deal_id).await.len() == 1
    })
    .await;
    let follow_up = tasks_on(&app, &t, "lead", &lead_id).await.remove(0);
    assert_eq!(follow_up["rule_id"], hot["id"]);
    let next_step = tasks_on(&app, &t, "deal", &deal_id).await.remove(0);
    assert_eq!(
        (next_step["rule_id"].clone(), next_step["title"].as_str()),
        (stale_deal["id"].clone(), Some("Next step for Quiet deal"))
    );
    // Still idle an hour later, but its follow-up is open: no second one.
    let much_later = Utc::now() + chrono::Duration::minutes(125);
    scheduler(much_later).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(tasks_on(&app, &t, "lead", &lead_id).await.len(), 1);
    assert_eq!(tasks_on(&app, &t, "deal", &deal_id).await.len(), 1);
}

#[tokio::test]
async fn the_scheduler_shares_a_run_between_companies_and_pages_past_what_waits() {
    use keel_store::due::{DueKind, DueWork};
    let db = keel_store::Db::from_env().await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    // Long ago, so no other test's clock reaches these, and this clock reaches nothing else.
    let base: DateTime<Utc> = "2002-03-04T00:00:00Z".parse().unwrap();
    let busy = ulid::Ulid::new().to_string();
    let quiet = ulid::Ulid::new().to_string();
    let work = |tenant: &str, n: i64| DueWork {
        tenant_id: tenant.into(),
        kind: DueKind::TaskEscalation,
        reference: format!("{}#1", ulid::Ulid::new()),
        due_at: base + chrono::Duration::seconds(n),
    };
    // The busy company's backlog is due first, all of it in one shard's pages ahead of the quiet one.
    let mut entries: Vec<DueWork> = (0..400).map(|n| work(&busy, n)).collect();
    let late = work(&quiet, 1_000);
    entries.push(late.clone());
    for e in &entries {
        let (pk, sk) = e.key();
        let mut item = e.item();
        item.insert("pk".into(), keel_store::AttributeValue::S(pk));
        item.insert("sk".into(), keel_store::AttributeValue::S(sk));
        db.client.put_item().table_name(&db.table).set_item(Some(item)).send().await.unwrap();
    }
    let scheduler = keel_system::Scheduler::from_env(db.clone(), sqs).with_company_share(10);
    let run = scheduler.run(base + chrono::Duration::hours(1)).await.unwrap();
    let (pk, sk) = late.key();
    assert!(db.get(&pk, &sk).await.unwrap().is_none(), "the quiet company's entry went in the first run: {run:?}");
    assert!(run.deferred > 0 && run.handed_off <= 10 * keel_store::due::SHARDS as usize + 1, "{run:?}");
    // Later runs work the backlog off, a share at a time.
    let mut total = run.handed_off;
    while total < entries.len() {
        let next = scheduler.run(base + chrono::Duration::hours(1)).await.unwrap();
        assert!(next.handed_off > 0, "the backlog stalled: {next:?}");
        total += next.handed_off;
    }
    assert_eq!(total, entries.len());
}

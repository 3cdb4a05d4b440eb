//! The cross-tenant matrix, generated from the OpenAPI document so every new route is covered:
//! company B's administrator calls every route against company A's company id and records, and
//! gets 404 (nothing exists for B there); afterwards A's data is exactly as it was.

use axum::http::Method;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{capture, lead_body};
use serde_json::{json, Value};

/// Routes that act on the platform rather than a company (system status). They answer B's
/// administrator like A's — see the note in functions/system: they need a platform operator role.
/// The platform's routes: a company's administrator is refused them outright.
const PLATFORM_ROUTES: [&str; 4] = [
    "/api/system/info",
    "/api/system/background-tasks",
    "/api/system/background-tasks/{queue}/redrive",
    "/api/system/jobs/{job_id}",
];

async fn snapshot(
    app: &TestApp,
    a: &Tenant,
    lead_id: &str,
    account_id: &str,
    deal_id: &str,
    activity_id: &str,
) -> Value {
    let get = |path: String| async move { app.get(&path, &a.admin()).await.body };
    json!({
        "lead": get(a.path(&format!("/leads/{lead_id}"))).await,
        "leads": get(a.path("/leads?limit=200")).await,
        "summary": get(a.path("/dashboard/summary")).await,
        "audit": get("/api/audit?limit=200".to_string()).await,
        "users": get(a.path("/users")).await,
        "qualification": get(a.path(&format!("/leads/{lead_id}/qualification"))).await,
        "policy": get(a.path("/leads/qualification-policy")).await,
        "account": get(a.path(&format!("/customers/{account_id}/overview"))).await,
        "contacts": get(a.path("/contacts")).await,
        "deal": get(a.path(&format!("/deals/{deal_id}"))).await,
        "deals": get(a.path("/deals")).await,
        "pipelines": get(a.path("/deals/pipelines")).await,
        "board": get(a.path("/deals/pipeline-view")).await,
        "quotas": get(a.path("/deals/quotas?period=2026-Q4")).await,
        "activity": get(a.path(&format!("/activities/{activity_id}"))).await,
        "activities": get(a.path("/activities")).await,
        "account timeline": get(a.path(&format!("/customers/{account_id}/timeline"))).await,
        "lead timeline": get(a.path(&format!("/leads/{lead_id}/timeline"))).await,
        "tasks": get(a.path("/tasks")).await,
        "task policy": get(a.path("/tasks/escalation-policy")).await,
        "task stats": get(a.path("/tasks/automation-stats")).await,
        "notifications": get(a.path("/notifications")).await,
        "task rules": get(a.path("/tasks/automation-rules")).await,
        "forms": get(a.path("/forms")).await,
        "whatsapp": get(a.path("/channels/whatsapp")).await,
    })
}

fn body_for(method: &Method, path: &str) -> Option<Value> {
    match *method {
        Method::POST if path.ends_with("/leads") => Some(lead_body(77)),
        Method::POST if path.ends_with("/users") => Some(json!({"email": "b@acme.example", "full_name": "B"})),
        Method::POST | Method::PUT => Some(json!({})),
        // Deliberately not a valid body: the company check comes before the body is read.
        Method::PATCH if path.contains("/users/") => Some(json!({"role": "admin", "unknown": true})),
        Method::PATCH => Some(json!({"version": 1, "notes": "written by another company"})),
        _ => None,
    }
}

#[tokio::test]
async fn another_company_reaches_nothing_on_any_route() {
    let app = keel_tests::app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let lead = capture(&app, &a, lead_body(1)).await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let colleague = app.post(&a.path("/users"), &a.admin(), json!({"email": "c@acme.example", "full_name": "C"})).await;
    let user_id = colleague.body["user_id"].as_str().unwrap().to_string();
    let account = app.post(&a.path("/customers"), &a.admin(), json!({"name": "A's account"})).await;
    let account_id = account.body["id"].as_str().unwrap().to_string();
    let contact = app
        .post(
            &a.path("/contacts"),
            &a.admin(),
            json!({"account_id": account_id, "first_name": "Ann", "last_name": "A"}),
        )
        .await;
    let contact_id = contact.body["id"].as_str().unwrap().to_string();
    let deal = app
        .post(
            &a.path("/deals"),
            &a.admin(),
            json!({"name": "A's deal", "account_id": account_id, "close_date": "2027-01-15"}),
        )
        .await;
    let deal_id = deal.body["id"].as_str().unwrap().to_string();
    let call = json!({"type": "call", "subject": "A's call",
        "related": [{"kind": "deal", "id": deal_id}, {"kind": "account", "id": account_id}]});
    let activity = app.post(&a.path("/activities"), &a.admin(), call).await;
    let activity_id = activity.body["id"].as_str().unwrap().to_string();
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let task = app
        .post(
            &a.path("/tasks"),
            &a.admin(),
            json!({"title": "A's task", "due_at": due,
            "related": {"kind": "deal", "id": deal_id}}),
        )
        .await;
    assert_eq!(task.status, 201, "{:?}", task.body);
    let task_id = task.body["id"].as_str().unwrap().to_string();
    let rule = json!({"name": "A's rule", "trigger": "deal_idle", "idle_hours": 24, "task_title": "Next step", "due_in_hours": 1});
    let rule = app.post(&a.path("/tasks/automation-rules"), &a.admin(), rule).await;
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let rule_id = rule.body["id"].as_str().unwrap().to_string();
    let form = json!({"name": "A's form", "source": "Website", "campaign": "C", "medium": "web",
        "fields": [{"name": "first_name", "label": "First"}, {"name": "last_name", "label": "Last"},
            {"name": "email", "label": "Email", "required": true}]});
    let form = app.post(&a.path("/forms"), &a.admin(), form).await;
    assert_eq!(form.status, 201, "{:?}", form.body);
    let (form_id, form_key) =
        (form.body["id"].as_str().unwrap().to_string(), form.body["key"].as_str().unwrap().to_string());
    let channel = json!({"app_secret": "a-app-secret-0123456", "verify_token": "a-verify-token"});
    let import = app.post(&a.path("/data/import"), &a.admin(), json!({"file_name": "a.csv", "size": 10})).await;
    assert_eq!(import.status, 201, "{:?}", import.body);
    let import_id = import.body["import"]["id"].as_str().unwrap().to_string();
    let channel = app.call(Method::PUT, &a.path("/channels/whatsapp"), Some(&a.admin()), Some(channel), &[]).await;
    let hook_key = channel.body["webhook_path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    // The dashboard consumer counts A's lead asynchronously: let it finish before the snapshot.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while keel_tests::summary(&app, &a).await["leads"]["total"] != 1 {
        assert!(std::time::Instant::now() < deadline, "the dashboard never counted A's lead");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The board's totals follow A's deal through the bus too.
    while app.get(&a.path("/deals/pipeline-view"), &a.admin()).await.body["columns"][0]["totals"]["count"] != 1 {
        assert!(std::time::Instant::now() < deadline, "the board never counted A's deal");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // And the timeline records the lead's capture and the deal's opening.
    let (app_ref, a_ref) = (&app, &a);
    let items =
        |path: String| async move { app_ref.get(&path, &a_ref.admin()).await.body["items"].as_array().map(Vec::len) };
    while items(a.path(&format!("/customers/{account_id}/timeline"))).await != Some(2)
        || items(a.path(&format!("/leads/{lead_id}/timeline"))).await != Some(1)
    {
        assert!(std::time::Instant::now() < deadline, "the timeline never recorded A's lead and deal");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let before = snapshot(&app, &a, &lead_id, &account_id, &deal_id, &activity_id).await;

    let doc = serde_json::to_value(keel_infra::api::openapi()).unwrap();
    let mut checked = 0;
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let path = template
                .replace("{company_id}", &a.id)
                .replace("{lead_id}", &lead_id)
                .replace("{user_id}", &user_id)
                .replace("{account_id}", &account_id)
                .replace("{contact_id}", &contact_id)
                .replace("{deal_id}", &deal_id)
                .replace("{activity_id}", &activity_id)
                .replace("{task_id}", &task_id)
                .replace("{rule_id}", &rule_id)
                .replace("{notification_id}", &task_id)
                .replace("{form_id}", &form_id)
                // B reaching A's public keys: a submission B makes up is refused (the form's fields
                // are missing), a delivery B cannot sign is refused, and A's data stays as it was.
                .replace("{form_key}", &form_key)
                .replace("{hook_key}", &hook_key)
                .replace("{import_id}", &import_id)
                // B can sign no link of A's.
                .replace("{token}", "u1.eyJ0IjoiQSJ9.forged")
                .replace("{pipeline_id}", "default")
                .replace("{queue}", "dashboard-counters")
                .replace("{slug}", "validation")
                .replace("{job_id}", "01JCDEMOJOB000000000000000");
            let r = app.call(method.clone(), &path, Some(&b.admin()), body_for(&method, &path), &[]).await;
            if PLATFORM_ROUTES.contains(&template.as_str()) {
                assert_eq!(r.status, 403, "{method} {template} answered a company's admin: {:?}", r.body);
                checked += 1;
                continue;
            }
            if template.contains("{company_id}") {
                assert_eq!(r.status, 404, "{method} {template} answered B: {:?}", r.body);
            } else {
                // Company-implicit routes (audit trail, sign-in, permissions) answer B about B only.
                assert!(r.status.as_u16() < 500, "{method} {template}: {:?}", r.body);
                assert!(
                    !r.body.to_string().contains(&a.id) && !r.body.to_string().contains(&lead_id),
                    "{method} {template} leaked A"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "the matrix covered only {checked} routes");
    assert_eq!(snapshot(&app, &a, &lead_id, &account_id, &deal_id, &activity_id).await, before, "A's data changed");
}

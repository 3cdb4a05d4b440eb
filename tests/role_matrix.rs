//! The role matrix: every route of the OpenAPI document × every role → allowed or 403, as the
//! permission matrix (`keel_http::permissions`) says. A new route fails here until it is listed.

use axum::http::Method;
use keel_http::{Permission, Role};
use keel_tests::{capture, lead_body};
use serde_json::json;

/// Routes anyone may call, without a token (a form's or a webhook's key names the company).
const PUBLIC: [&str; 6] = [
    "/api/health",
    "/api/openapi.json",
    "/api/problems/{slug}",
    "/api/forms/{form_key}/submit",
    "/api/webhooks/whatsapp/{hook_key}",
    "/api/unsubscribe/{token}",
];

/// What each route needs, for a record owned by someone else; `None`: open to every role (sign-in
/// routes need no token at all).
fn required(method: &Method, template: &str) -> Option<Permission> {
    use Permission::*;
    if template.starts_with("/api/auth/") || PUBLIC.contains(&template) {
        return None;
    }
    Some(match (method.as_str(), template) {
        ("GET", "/api/companies/{company_id}/leads")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}")
        | ("GET", "/api/companies/{company_id}/dashboard/summary")
        | ("GET", "/api/companies/{company_id}/events")
        | ("GET", "/api/permissions/roles")
        | ("GET", "/api/permissions/me")
        | ("GET", "/api/companies/{company_id}/leads/qualification-policy")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}/qualification")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}/risk-score")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}/conversion-preview")
        | ("GET", "/api/companies/{company_id}/customers")
        | ("GET", "/api/companies/{company_id}/customers/{account_id}")
        | ("GET", "/api/companies/{company_id}/customers/{account_id}/overview")
        | ("GET", "/api/companies/{company_id}/contacts")
        | ("GET", "/api/companies/{company_id}/contacts/{contact_id}")
        | ("GET", "/api/companies/{company_id}/deals")
        | ("GET", "/api/companies/{company_id}/deals/{deal_id}")
        | ("GET", "/api/companies/{company_id}/deals/{deal_id}/stage-history")
        | ("GET", "/api/companies/{company_id}/deals/pipelines")
        | ("GET", "/api/companies/{company_id}/deals/pipelines/{pipeline_id}")
        | ("GET", "/api/companies/{company_id}/deals/pipeline-view")
        | ("GET", "/api/companies/{company_id}/deals/forecast")
        | ("GET", "/api/companies/{company_id}/deals/forecast/changes")
        | ("GET", "/api/companies/{company_id}/deals/quotas")
        | ("GET", "/api/companies/{company_id}/deals/trend-analysis")
        | ("GET", "/api/companies/{company_id}/activities")
        | ("GET", "/api/companies/{company_id}/activities/{activity_id}")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}/timeline")
        | ("GET", "/api/companies/{company_id}/customers/{account_id}/timeline")
        | ("GET", "/api/companies/{company_id}/contacts/{contact_id}/timeline")
        | ("GET", "/api/companies/{company_id}/deals/{deal_id}/timeline")
        | ("GET", "/api/companies/{company_id}/tasks")
        | ("GET", "/api/companies/{company_id}/tasks/{task_id}")
        | ("GET", "/api/companies/{company_id}/tasks/escalation-policy")
        | ("GET", "/api/companies/{company_id}/tasks/automation-stats")
        | ("GET", "/api/companies/{company_id}/tasks/automation-rules")
        | ("GET", "/api/companies/{company_id}/notifications")
        | ("GET", "/api/companies/{company_id}/forms")
        | ("GET", "/api/companies/{company_id}/forms/{form_id}")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}/consent")
        | ("GET", "/api/companies/{company_id}/leads/{lead_id}/duplicates")
        // One's own notifications: everyone may read theirs.
        | ("POST", "/api/companies/{company_id}/notifications/{notification_id}/read") => ReadRecords,
        ("POST", "/api/companies/{company_id}/tasks") | ("POST", "/api/companies/{company_id}/data/validate") => {
            EditOwnRecords
        }
        // A withdrawal is heard from anyone who may change records (a grant on someone else's lead
        // takes EditAllRecords: tests/governance.rs); so is a link to unsubscribe.
        ("POST", "/api/companies/{company_id}/leads/{lead_id}/consent")
        | ("POST", "/api/companies/{company_id}/leads/{lead_id}/consent/unsubscribe-link") => EditOwnRecords,
        // Managers keep the website forms; administrators the WhatsApp channel and its secrets.
        ("POST", "/api/companies/{company_id}/forms")
        | ("PATCH", "/api/companies/{company_id}/forms/{form_id}")
        | ("DELETE", "/api/companies/{company_id}/forms/{form_id}") => EditAllRecords,
        // Imports make many leads at once: managers run them.
        ("POST", "/api/companies/{company_id}/data/import")
        | ("GET", "/api/companies/{company_id}/data/import")
        | ("GET", "/api/companies/{company_id}/data/import/{import_id}")
        | ("POST", "/api/companies/{company_id}/data/import/{import_id}/preview")
        | ("POST", "/api/companies/{company_id}/data/import/{import_id}/dry-run")
        | ("POST", "/api/companies/{company_id}/data/import/{import_id}/start")
        | ("GET", "/api/companies/{company_id}/data/import/{import_id}/report") => EditAllRecords,
        ("GET", "/api/companies/{company_id}/channels/whatsapp")
        | ("PUT", "/api/companies/{company_id}/channels/whatsapp") => ManageUsers,
        // The task is the administrator's: others change it only with EditAllRecords.
        ("PATCH", "/api/companies/{company_id}/tasks/{task_id}")
        | ("DELETE", "/api/companies/{company_id}/tasks/{task_id}") => EditAllRecords,
        ("PUT", "/api/companies/{company_id}/tasks/escalation-policy") => ManageUsers,
        // Managers keep the automation rules and run them.
        ("POST", "/api/companies/{company_id}/tasks/automation-rules")
        | ("PATCH", "/api/companies/{company_id}/tasks/automation-rules/{rule_id}")
        | ("DELETE", "/api/companies/{company_id}/tasks/automation-rules/{rule_id}")
        | ("POST", "/api/companies/{company_id}/tasks/auto-create-for-leads") => EditAllRecords,
        ("POST", "/api/companies/{company_id}/activities") => EditOwnRecords,
        // The activity is the administrator's call: others change it only with EditAllRecords.
        ("PATCH", "/api/companies/{company_id}/activities/{activity_id}")
        | ("DELETE", "/api/companies/{company_id}/activities/{activity_id}") => EditAllRecords,
        ("POST", "/api/companies/{company_id}/deals") => EditOwnRecords,
        // The deal is the administrator's: others change it only with EditAllRecords; managers archive
        // and set quotas; administrators edit pipelines.
        ("PATCH", "/api/companies/{company_id}/deals/{deal_id}")
        | ("DELETE", "/api/companies/{company_id}/deals/{deal_id}")
        | ("PUT", "/api/companies/{company_id}/deals/{deal_id}/move-stage")
        | ("PUT", "/api/companies/{company_id}/deals/quotas") => EditAllRecords,
        ("POST", "/api/companies/{company_id}/deals/pipelines")
        | ("PUT", "/api/companies/{company_id}/deals/pipelines/{pipeline_id}") => ManageUsers,
        ("POST", "/api/companies/{company_id}/customers") | ("POST", "/api/companies/{company_id}/contacts") => {
            EditOwnRecords
        }
        // The lead, account and contact are someone else's: changing them takes EditAllRecords.
        ("POST", "/api/companies/{company_id}/leads/{lead_id}/qualify")
        | ("POST", "/api/companies/{company_id}/leads/{lead_id}/recycle")
        | ("POST", "/api/companies/{company_id}/leads/{lead_id}/disqualify")
        | ("POST", "/api/companies/{company_id}/leads/{lead_id}/reverse-decision")
        | ("POST", "/api/companies/{company_id}/leads/{lead_id}/convert")
        | ("PATCH", "/api/companies/{company_id}/customers/{account_id}")
        | ("DELETE", "/api/companies/{company_id}/customers/{account_id}")
        | ("PATCH", "/api/companies/{company_id}/contacts/{contact_id}")
        | ("DELETE", "/api/companies/{company_id}/contacts/{contact_id}") => EditAllRecords,
        ("PUT", "/api/companies/{company_id}/leads/qualification-policy")
        | ("GET", "/api/companies/{company_id}/data/governance/policies")
        | ("PUT", "/api/companies/{company_id}/data/governance/policies") => ManageUsers,
        ("POST", "/api/companies/{company_id}/leads") => EditOwnRecords,
        ("PATCH", "/api/companies/{company_id}/leads/{lead_id}")
        | ("DELETE", "/api/companies/{company_id}/leads/{lead_id}") => EditAllRecords,
        ("GET", "/api/audit") | ("GET", "/api/companies/{company_id}/leads/{lead_id}/export") => ReadAudit,
        ("GET", "/api/companies/{company_id}/users") => ReadRecords,
        ("POST", "/api/companies/{company_id}/users") | ("PATCH", "/api/companies/{company_id}/users/{user_id}") => {
            ManageUsers
        }
        ("POST", "/api/companies/{company_id}/users/{user_id}/invitation") => ManageUsers,
        ("GET", "/api/companies/{company_id}/jobs") => ViewBackgroundWork,
        ("GET", "/api/system/info")
        | ("GET", "/api/system/background-tasks")
        | ("POST", "/api/system/background-tasks/{queue}/redrive")
        | ("GET", "/api/system/jobs/{job_id}") => OperateSystem,
        _ => panic!("{method} {template} is not in the role matrix: say which permission it needs"),
    })
}

/// An unread notification of `user` (as an escalation writes it).
async fn notification_for(app: &keel_testkit::TestApp, t: &keel_testkit::Tenant, user: &str, id: &str) {
    let keys = keel_store::TenantKeys::new(&t.id);
    let s = |v: &str| keel_store::AttributeValue::S(v.to_string());
    app.state
        .db
        .client
        .put_item()
        .table_name(&app.state.db.table)
        .item("pk", s(&keys.key(&format!("NOTIFY#{user}"))))
        .item("sk", s(&format!("N#{id}")))
        .item("id", s(id))
        .item("kind", s("task_escalated"))
        .item("title", s("Overdue task escalated"))
        .item("body", s("Escalated"))
        .item("read", keel_store::AttributeValue::Bool(false))
        .item("created_at", s("2026-12-07T00:00:00Z"))
        .send()
        .await
        .expect("a notification");
}

fn new_user(name: &str) -> serde_json::Value {
    json!({"email": format!("{name}@acme.example"), "full_name": name, "role": "sales_rep"})
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_matrix_says() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await; // owned by the admin user
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let colleague = app.post(&t.path("/users"), &t.admin(), new_user("colleague")).await;
    assert_eq!(colleague.status, 201, "{:?}", colleague.body);
    let user_id = colleague.body["user_id"].as_str().unwrap().to_string();
    let account = app.post(&t.path("/customers"), &t.admin(), json!({"name": "Matrix Ltd"})).await;
    let account_id = account.body["id"].as_str().unwrap().to_string();
    let contact = app
        .post(
            &t.path("/contacts"),
            &t.admin(),
            json!({"account_id": account_id, "first_name": "Mia", "last_name": "Tan"}),
        )
        .await;
    let contact_id = contact.body["id"].as_str().unwrap().to_string();
    let doomed = app
        .post(
            &t.path("/contacts"),
            &t.admin(),
            json!({"account_id": account_id, "first_name": "Al", "last_name": "Gone"}),
        )
        .await;
    let doomed_id = doomed.body["id"].as_str().unwrap().to_string();
    let deal = app
        .post(
            &t.path("/deals"),
            &t.admin(),
            json!({"name": "Matrix deal", "account_id": account_id, "close_date": "2027-01-15"}),
        )
        .await;
    assert_eq!(deal.status, 201, "{:?}", deal.body);
    let deal_id = deal.body["id"].as_str().unwrap().to_string();
    let call = json!({"type": "call", "subject": "Matrix call", "related": [{"kind": "deal", "id": deal_id}]});
    let activity = app.post(&t.path("/activities"), &t.admin(), call).await;
    assert_eq!(activity.status, 201, "{:?}", activity.body);
    let activity_id = activity.body["id"].as_str().unwrap().to_string();
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let task = app.post(&t.path("/tasks"), &t.admin(), json!({"title": "Matrix task", "due_at": due})).await;
    assert_eq!(task.status, 201, "{:?}", task.body);
    let task_id = task.body["id"].as_str().unwrap().to_string();
    let rule =
        json!({"name": "Matrix rule", "trigger": "lead_created", "task_title": "Call {name}", "due_in_hours": 1});
    let rule = app.post(&t.path("/tasks/automation-rules"), &t.admin(), rule).await;
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let rule_id = rule.body["id"].as_str().unwrap().to_string();
    // Notifications are each person's own: every role's user gets one to mark read.
    let notification_id = ulid::Ulid::new().to_string();
    let form_body = json!({"name": "Matrix form", "source": "Website", "campaign": "C", "medium": "web",
        "fields": [{"name": "first_name", "label": "First"}, {"name": "last_name", "label": "Last"},
            {"name": "email", "label": "Email", "required": true}]});
    let form = app.post(&t.path("/forms"), &t.admin(), form_body.clone()).await;
    assert_eq!(form.status, 201, "{:?}", form.body);
    let (form_id, form_key) =
        (form.body["id"].as_str().unwrap().to_string(), form.body["key"].as_str().unwrap().to_string());
    let channel = json!({"app_secret": "matrix-app-secret-0123", "verify_token": "matrix-verify-token"});
    let channel = app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&t.admin()), Some(channel), &[]).await;
    assert_eq!(channel.status, 200, "{:?}", channel.body);
    let hook_key = channel.body["webhook_path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    // An import with its file uploaded and previewed.
    let csv = "first_name,last_name,email\nAna,Matrix,ana.matrix@acme.example\n";
    let import = app.post(&t.path("/data/import"), &t.admin(), json!({"file_name": "m.csv", "size": csv.len()})).await;
    assert_eq!(import.status, 201, "{:?}", import.body);
    let import_id = import.body["import"]["id"].as_str().unwrap().to_string();
    let upload = &import.body["upload"];
    assert_eq!(
        keel_tests::put_presigned(upload["url"].as_str().unwrap(), &upload["headers"], csv.as_bytes()).await,
        200
    );
    let preview = app.post(&t.path(&format!("/data/import/{import_id}/preview")), &t.admin(), json!({})).await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    // An unsubscribe link of the lead (opened and used without a token by anyone).
    let link = app
        .post(&t.path(&format!("/leads/{lead_id}/consent/unsubscribe-link")), &t.admin(), json!({"channel": "email"}))
        .await;
    assert_eq!(link.status, 200, "{:?}", link.body);
    let unsubscribe_token = link.body["token"].as_str().unwrap().to_string();
    let period = keel_core::forecast::quarter(chrono::Utc::now().date_naive());
    let doc = serde_json::to_value(keel_infra::api::openapi()).unwrap();
    let mut checked = 0;
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let need = required(&method, template);
            let path = template
                .replace("{company_id}", &t.id)
                .replace("{lead_id}", &lead_id)
                .replace("{user_id}", &user_id)
                .replace("{account_id}", &account_id)
                .replace("{contact_id}", if method == Method::DELETE { &doomed_id } else { &contact_id })
                .replace("{deal_id}", &deal_id)
                .replace("{activity_id}", &activity_id)
                .replace("{task_id}", &task_id)
                .replace("{rule_id}", &rule_id)
                .replace("{notification_id}", &notification_id)
                .replace("{form_id}", &form_id)
                .replace("{form_key}", &form_key)
                .replace("{hook_key}", &hook_key)
                .replace("{import_id}", &import_id)
                .replace("{token}", &unsubscribe_token)
                .replace("{pipeline_id}", "default")
                .replace("{queue}", "dashboard-counters")
                .replace("{slug}", "validation")
                .replace("{job_id}", "01JCDEMOJOB000000000000000");
            // WhatsApp's subscription check carries its token in the query.
            let path = if method == Method::GET && template.ends_with("{hook_key}") {
                format!("{path}?hub.mode=subscribe&hub.verify_token=matrix-verify-token&hub.challenge=42")
            } else {
                path
            };
            for (n, role) in Role::ALL.into_iter().enumerate() {
                let user = format!("{}-{n}", role.as_str());
                let token = app.user_token(&t, &user, role).await;
                if template.contains("{notification_id}") {
                    notification_for(&app, &t, &user, &notification_id).await;
                }
                let body = match method {
                    Method::POST if template.ends_with("/leads") => Some(lead_body(100 + n as u32)),
                    Method::POST if template.ends_with("/users") => Some(new_user(&user)),
                    Method::PATCH if template.contains("/users/") => Some(json!({"role": "viewer"})),
                    Method::POST if template.ends_with("/customers") => Some(json!({"name": format!("Acme {user}")})),
                    Method::POST if template.ends_with("/contacts") => {
                        Some(json!({"account_id": account_id, "first_name": "Ed", "last_name": user}))
                    }
                    Method::POST if template.ends_with("/qualify") => {
                        Some(json!({"bant": {"budget": 20, "authority": 20, "need": 20, "timeline": 20}}))
                    }
                    Method::POST if template.ends_with("/recycle") => {
                        let revisit = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
                        Some(json!({"reason": "next quarter", "revisit_on": revisit.to_string()}))
                    }
                    Method::POST if template.ends_with("/disqualify") || template.ends_with("/reverse-decision") => {
                        Some(json!({"reason": "no budget"}))
                    }
                    Method::POST if template.ends_with("/convert") => Some(json!({})),
                    Method::POST if template.ends_with("/deals") => Some(json!({"name": format!("Deal of {user}"),
                        "account_id": account_id, "close_date": "2027-01-15"})),
                    Method::POST if template.ends_with("/deals/pipelines") => {
                        let mut p = app.get(&t.path("/deals/pipelines/default"), &t.admin()).await.body;
                        p["name"] = json!(format!("Pipeline of {user}"));
                        Some(json!({"name": p["name"], "stages": p["stages"]}))
                    }
                    Method::PUT if template.ends_with("/pipelines/{pipeline_id}") => {
                        let p = app.get(&path, &t.admin()).await.body;
                        Some(
                            json!({"name": format!("Renamed by {user}"), "stages": p["stages"], "version": p["version"]}),
                        )
                    }
                    Method::PUT if template.ends_with("/move-stage") => {
                        let version =
                            app.get(&path.replace("/move-stage", ""), &t.admin()).await.body["version"].clone();
                        Some(json!({"stage": "proposal", "version": version}))
                    }
                    Method::PUT if template.ends_with("/quotas") => {
                        let quotas = app.get(&format!("{path}?period={period}"), &t.admin()).await.body;
                        let version = quotas["items"][0]["version"].as_u64().unwrap_or(0);
                        Some(json!({"period": period, "owner_id": t.user_id, "version": version,
                            "amount": {"value_minor": 100_000 + n as i64, "currency": "EUR"}}))
                    }
                    Method::POST if template.ends_with("/forms") => {
                        let mut f = form_body.clone();
                        f["name"] = json!(format!("Form of {user}"));
                        Some(f)
                    }
                    Method::POST if template.ends_with("/submit") => Some(json!({"first_name": "Web",
                        "last_name": user, "email": format!("{user}@web.example")})),
                    Method::POST if template.ends_with("/data/validate") => Some(json!({"rows": [lead_body(300)]})),
                    Method::POST if template.ends_with("/consent") => {
                        Some(json!({"channel": "phone", "status": "withdrawn", "proof": format!("told {user}")}))
                    }
                    Method::POST if template.ends_with("/unsubscribe-link") => Some(json!({"channel": "email"})),
                    Method::POST if template.ends_with("/data/import") => {
                        Some(json!({"file_name": "a.csv", "size": 10}))
                    }
                    Method::POST if template.ends_with("/dry-run") || template.ends_with("/start") => Some(json!({
                        "version": 2, "attribution": {"source": "Fair", "campaign": "C", "medium": "list"}})),
                    Method::PATCH if template.contains("/forms/") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "name": format!("Renamed by {user}")}))
                    }
                    Method::PUT if template.ends_with("/channels/whatsapp") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "campaign": format!("by {user}")}))
                    }
                    Method::POST if template.ends_with("/tasks") => {
                        Some(json!({"title": format!("Task of {user}"), "due_at": due}))
                    }
                    Method::POST if template.ends_with("/automation-rules") => {
                        Some(json!({"name": format!("Rule of {user}"),
                        "trigger": "lead_idle", "idle_hours": 48, "task_title": "Follow up", "due_in_hours": 4}))
                    }
                    Method::POST if template.ends_with("/auto-create-for-leads") => Some(json!({"limit": 10})),
                    Method::PATCH if template.contains("/automation-rules/") => {
                        let rules = app.get(&t.path("/tasks/automation-rules"), &t.admin()).await.body;
                        let version = rules["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|r| r["id"] == rule_id)
                            .map(|r| r["version"].clone())
                            .unwrap_or(json!(1));
                        Some(json!({"version": version, "name": format!("Renamed by {user}")}))
                    }
                    Method::PATCH if template.contains("/tasks/") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "title": format!("Renamed by {user}")}))
                    }
                    Method::PUT if template.ends_with("/governance/policies") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        let email = if n % 2 == 0 { "opt_in" } else { "not_withdrawn" };
                        Some(json!({"version": version, "consent": {"email": email}}))
                    }
                    Method::PUT if template.ends_with("/escalation-policy") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "delay_hours": 4 + n}))
                    }
                    Method::POST if template.ends_with("/activities") => Some(json!({"type": "note",
                        "subject": format!("Note by {user}"), "related": [{"kind": "account", "id": account_id}]})),
                    Method::PATCH if template.contains("/activities/") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "outcome": format!("by {user}")}))
                    }
                    Method::PATCH if template.contains("/deals/") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "next_step": format!("by {user}")}))
                    }
                    Method::PUT => Some(json!({"version": 0, "bant_min_total": 70, "bant_no_zero_item": true,
                        "disqualify_reasons": ["no budget"], "conversion_trigger": "off"})),
                    Method::PATCH if template.contains("/customers/") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "industry": format!("by {user}")}))
                    }
                    Method::PATCH if template.contains("/contacts/") => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "job_title": format!("by {user}")}))
                    }
                    Method::PATCH => {
                        let version = app.get(&path, &t.admin()).await.body["version"].clone();
                        Some(json!({"version": version, "notes": format!("by {user}")}))
                    }
                    _ => None,
                };
                let r = app.call(method.clone(), &path, Some(&token), body, &[]).await;
                let Some(need) = need else {
                    assert_ne!(r.status, 403, "{role:?} {method} {template}");
                    checked += 1;
                    continue;
                };
                if role.can(need) {
                    // Allowed: whatever the record's state makes of it (an archived lead refuses
                    // edits with 422), but never a refusal for the role or the token, nor a failure.
                    assert!(
                        ![401, 403, 404].contains(&r.status.as_u16()) && r.status.as_u16() < 500,
                        "{role:?} may {method} {template}: {} {:?}",
                        r.status,
                        r.body
                    );
                } else {
                    assert_eq!(r.status, 403, "{role:?} may not {method} {template}: {:?}", r.body);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 48, "{checked}");
}

#[tokio::test]
async fn sales_reps_change_their_own_leads_and_cannot_give_them_away() {
    let app = keel_tests::leads_app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    app.user_token(&t, "rep-2", Role::SalesRep).await; // a colleague to assign leads to
    let own = app.post(&t.path("/leads"), &rep, lead_body(1)).await;
    assert_eq!((own.status.as_u16(), own.body["owner_id"].as_str()), (201, Some("rep-1")));
    let path = t.path(&format!("/leads/{}", own.body["id"].as_str().unwrap()));
    assert_eq!(app.patch(&path, &rep, json!({"version": 1, "notes": "mine"})).await.status, 200);
    assert_eq!(app.patch(&path, &rep, json!({"version": 2, "owner_id": "rep-2"})).await.status, 403);
    let mut for_other = lead_body(2);
    for_other["owner_id"] = json!("rep-2");
    assert_eq!(app.post(&t.path("/leads"), &rep, for_other.clone()).await.status, 403);
    // Managers assign.
    assert_eq!(app.patch(&path, &manager, json!({"version": 2, "owner_id": "rep-2"})).await.status, 200);
    assert_eq!(app.post(&t.path("/leads"), &manager, for_other).await.status, 201);
    // Only to the company's own active people: nobody, or another company's user, is refused.
    let other_company = app.tenant().await;
    for owner in ["nobody-at-all", other_company.user_id.as_str()] {
        let mut to_stranger = lead_body(3);
        to_stranger["owner_id"] = json!(owner);
        let r = app.post(&t.path("/leads"), &manager, to_stranger).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["owner_id".to_string()]), "{owner}");
        let r = app.patch(&path, &manager, json!({"version": 3, "owner_id": owner})).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["owner_id".to_string()]), "{owner}");
    }
    // Now it is rep-2's: rep-1 reads it but cannot change or archive it.
    assert_eq!(app.get(&path, &rep).await.status, 200);
    assert_eq!(app.patch(&path, &rep, json!({"version": 3, "notes": "still mine?"})).await.status, 403);
    assert_eq!(app.delete(&path, &rep).await.status, 403);
    assert_eq!(app.get(&path, &manager).await.body["version"], 3);
}

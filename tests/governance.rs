//! The consent ledger: append-only records per lead and channel, the state every send checks in
//! one read, and unsubscribe links that withdraw once, without signing in.

use axum::http::Method;
use keel_core::consent::{ConsentChannel, Requirement};
use keel_http::links::{LinkKeys, UnsubscribeLink};
use keel_http::state::SecretSetting;
use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{capture, lead_body, outbox};
use serde_json::{json, Value};

fn channel<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["channels"].as_array().unwrap().iter().find(|c| c["channel"] == name).unwrap()
}

async fn consent(app: &TestApp, t: &Tenant, lead: &str) -> Value {
    let r = app.get(&t.path(&format!("/leads/{lead}/consent")), &t.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn history_ids(view: &Value) -> Vec<String> {
    view["history"]["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn consent_is_a_ledger_whose_latest_record_every_send_checks() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await["id"].as_str().unwrap().to_string();
    let path = t.path(&format!("/leads/{lead}/consent"));

    // Never asked: email may go to someone who has not objected; WhatsApp needs an opt-in.
    let view = consent(&app, &t, &lead).await;
    assert_eq!(view["channels"].as_array().unwrap().len(), 4);
    assert_eq!(channel(&view, "email")["check"]["decision"], "allowed");
    assert_eq!(channel(&view, "whatsapp")["check"]["decision"], "blocked");

    let grant = json!({"channel": "email", "status": "granted", "proof": "Ticked “Send me product news” at the fair"});
    let r = app.post(&path, &t.admin(), grant.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = app.post(&path, &t.admin(), json!({"channel": "email", "status": "withdrawn"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let withdrawal = r.body["id"].as_str().unwrap().to_string();
    let view = consent(&app, &t, &lead).await;
    assert_eq!(channel(&view, "email")["status"], "withdrawn");
    assert_eq!(channel(&view, "email")["check"]["decision"], "blocked");
    assert_eq!(history_ids(&view)[0], withdrawal, "newest first");
    assert_eq!(view["history"]["items"][1]["proof"], grant["proof"]);
    // Where a record came from is for those who may read the audit trail.
    assert_ne!(view["history"]["items"][0]["source_ip"], "", "{view:?}");
    let rep = app.user_token(&t, &ulid::Ulid::new().to_string(), Role::SalesRep).await;
    let as_rep = app.get(&path, &rep).await;
    assert_eq!((as_rep.status.as_u16(), &as_rep.body["history"]["items"][0]["source_ip"]), (200, &json!("")));
    // The check a sender makes: one read, blocked for every requirement.
    let keys = keel_store::TenantKeys::new(&t.id);
    let db = &app.state.db;
    for requirement in [Requirement::OptIn, Requirement::NotWithdrawn] {
        let check = keel_store::consent::check(db, &keys, &lead, ConsentChannel::Email, requirement).await.unwrap();
        assert!(!check.allowed(), "{check:?}");
    }
    let before = db.requests.total();
    keel_store::consent::check(db, &keys, &lead, ConsentChannel::Email, Requirement::OptIn).await.unwrap();
    assert_eq!(db.requests.total() - before, 1, "the check is one read");

    // A retried request with its key records once.
    let key = [("idempotency-key", "grant-phone-1")];
    let phone = json!({"channel": "phone", "status": "granted", "proof": "Asked to be called back"});
    let first = app.call(Method::POST, &path, Some(&t.admin()), Some(phone.clone()), &key).await;
    let again = app.call(Method::POST, &path, Some(&t.admin()), Some(phone), &key).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(history_ids(&consent(&app, &t, &lead).await).len(), 3);

    // Every record is an event and an audit entry.
    let events: Vec<Value> =
        outbox(&app, &t).await.into_iter().filter(|e| e["detail_type"] == "ConsentChanged").collect();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["source"] == "keel.governance" && e["detail"]["lead_id"] == lead.as_str()));
    let audit = app.get(&format!("/api/audit?entity_type=lead&entity_id={lead}"), &t.admin()).await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(actions.contains(&"consent.withdraw") && actions.contains(&"consent.grant"), "{actions:?}");

    // Parallel records: none lost, and the state is one of them.
    let sms = |n: usize| {
        json!({"channel": "sms", "status": if n.is_multiple_of(2) { "granted" } else { "withdrawn" },
        "proof": format!("call {n}")})
    };
    let admin = t.admin();
    let answers = futures::future::join_all((0..8).map(|n| app.post(&path, &admin, sms(n)))).await;
    assert!(answers.iter().all(|r| r.status == 201));
    let view = app.get(&format!("{path}?limit=100"), &t.admin()).await.body;
    let ids = history_ids(&view);
    assert_eq!(ids.len(), 11);
    let state = keel_store::consent::state(db, &keys, &lead).await.unwrap();
    let latest = &state.channels[&ConsentChannel::Sms];
    let record = view["history"]["items"].as_array().unwrap().iter().find(|r| r["id"] == latest.record_id.as_str());
    assert_eq!(record.unwrap()["status"], latest.status.as_str(), "the state is the record it names");

    // Pages of the ledger follow their cursor.
    let page = app.get(&format!("{path}?limit=2"), &t.admin()).await.body;
    let cursor = page["history"]["next_cursor"].as_str().unwrap();
    let next = app.get(&format!("{path}?limit=2&cursor={cursor}"), &t.admin()).await.body;
    assert_eq!(history_ids(&next), ids[2..4]);
}

#[tokio::test]
async fn bad_consent_input_is_refused_and_roles_and_companies_are_kept_apart() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(2)).await["id"].as_str().unwrap().to_string();
    let path = t.path(&format!("/leads/{lead}/consent"));
    let r = app.post(&path, &t.admin(), json!({"channel": "fax", "status": "maybe"})).await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!((r.status.as_u16(), fields), (400, vec!["channel".to_string(), "status".into()]));
    let r = app.post(&path, &t.admin(), json!({"channel": "email", "status": "granted"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["proof".to_string()]), "a grant needs its proof");
    let r = app.post(&path, &t.admin(), json!({"channel": "email", "status": "withdrawn", "by": "me"})).await;
    assert_eq!(r.status, 400, "unknown fields are refused");
    let r = app
        .post(&path, &t.admin(), json!({"channel": "email", "status": "withdrawn", "proof": "x".repeat(2001)}))
        .await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["proof".to_string()]));
    let r = app.get(&format!("{path}?limit=0"), &t.admin()).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["limit".to_string()]));
    let nobody = t.path(&format!("/leads/{}/consent", ulid::Ulid::new()));
    assert_eq!(app.post(&nobody, &t.admin(), json!({"channel": "sms", "status": "withdrawn"})).await.status, 404);
    let link = t.path(&format!("/leads/{lead}/consent/unsubscribe-link"));
    let r = app.post(&link, &t.admin(), json!({"channel": "pigeon"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["channel".to_string()]));
    assert_eq!(consent(&app, &t, &lead).await["history"]["items"], json!([]), "nothing was recorded");

    // A sales rep hears a withdrawal on anyone's lead, but grants only on their own; a viewer reads.
    let rep = app.user_token(&t, &ulid::Ulid::new().to_string(), Role::SalesRep).await;
    let withdraw = json!({"channel": "phone", "status": "withdrawn", "proof": "Asked us to stop calling"});
    assert_eq!(app.post(&path, &rep, withdraw.clone()).await.status, 201);
    let grant = json!({"channel": "phone", "status": "granted", "proof": "Changed their mind"});
    assert_eq!(app.post(&path, &rep, grant).await.status, 403);
    let viewer = app.user_token(&t, &ulid::Ulid::new().to_string(), Role::Viewer).await;
    assert_eq!(app.get(&path, &viewer).await.status, 200);
    assert_eq!(app.post(&path, &viewer, withdraw.clone()).await.status, 403);

    // Another company sees, records and links nothing of it.
    let other = app.tenant().await;
    let theirs = other.path(&format!("/leads/{lead}/consent"));
    assert_eq!(app.get(&theirs, &other.admin()).await.status, 404);
    assert_eq!(app.post(&theirs, &other.admin(), withdraw).await.status, 404);
    let r = app.post(&format!("{theirs}/unsubscribe-link"), &other.admin(), json!({"channel": "email"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(consent(&app, &t, &lead).await["history"]["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unsubscribe_link_withdraws_once_without_signing_in() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(3)).await["id"].as_str().unwrap().to_string();
    let path = t.path(&format!("/leads/{lead}/consent"));
    let grant = json!({"channel": "email", "status": "granted", "proof": "Subscribed on the website"});
    assert_eq!(app.post(&path, &t.admin(), grant).await.status, 201);
    let r = app.post(&format!("{path}/unsubscribe-link"), &t.admin(), json!({"channel": "email"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    assert!(r.body["url"].as_str().unwrap().ends_with(&format!("/unsubscribe#token={token}")), "{:?}", r.body);

    // Opening the link (as a mail scanner would) changes nothing and tells nothing of the person.
    let public = format!("/api/unsubscribe/{token}");
    let r = app.call(Method::GET, &public, None, None, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["channel"].as_str(), r.body["withdrawn"].as_bool()), (Some("email"), Some(false)));
    assert!(!r.body.to_string().contains("ana.3"), "{:?}", r.body);
    assert_eq!(channel(&consent(&app, &t, &lead).await, "email")["status"], "granted");

    // The page's button and the mail client's one-click at once: one withdrawal.
    let clicks = futures::future::join_all((0..3).map(|_| {
        app.call(Method::POST, &public, None, None, &[("content-type", "application/x-www-form-urlencoded")])
    }))
    .await;
    assert!(clicks.iter().all(|r| r.status == 200 && r.body["withdrawn"] == true), "{clicks:?}");
    let again = app.call(Method::POST, &public, None, None, &[]).await;
    assert_eq!(again.status, 200);
    let view = consent(&app, &t, &lead).await;
    assert_eq!(channel(&view, "email")["status"], "withdrawn");
    let withdrawals: Vec<&Value> =
        view["history"]["items"].as_array().unwrap().iter().filter(|r| r["status"] == "withdrawn").collect();
    assert_eq!(withdrawals.len(), 1, "{view:?}");
    assert_eq!(withdrawals[0]["source"], "unsubscribe-link");
    assert_eq!(app.call(Method::GET, &public, None, None, &[]).await.body["withdrawn"], true);

    // A link altered, made up or expired does nothing.
    let (head, tag) = token.rsplit_once('.').unwrap();
    let altered = format!("{}A.{tag}", &head[..head.len() - 1]);
    for bad in [altered.as_str(), "u1.e30.AAAA", "nonsense"] {
        let r = app.call(Method::POST, &format!("/api/unsubscribe/{bad}"), None, None, &[]).await;
        assert_eq!(r.status, 404, "{bad}: {:?}", r.body);
    }
    let runtime = keel_function::Runtime::new("GovernanceFunction").await;
    let keys = LinkKeys::new(SecretSetting::from_env("KEEL_LINK_SECRET").cached(Some(runtime.secretsmanager())));
    let expired = keys.signer().await.unwrap().sign(&UnsubscribeLink {
        tenant_id: t.id.clone(),
        lead_id: lead.clone(),
        channel: ConsentChannel::Sms,
        expires: chrono::Utc::now().timestamp() - 1,
    });
    let r = app.call(Method::POST, &format!("/api/unsubscribe/{expired}"), None, None, &[]).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(channel(&consent(&app, &t, &lead).await, "sms")["status"].is_null());
}

#[tokio::test]
async fn a_public_form_grants_consent_but_never_lifts_a_withdrawal() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let form = json!({"name": "Newsletter", "source": "Website", "campaign": "Always on", "medium": "web form",
        "fields": [{"name": "first_name", "label": "First"}, {"name": "last_name", "label": "Last"},
            {"name": "email", "label": "Email", "required": true}],
        "consent_text": "Send me the monthly newsletter."});
    let form = app.post(&t.path("/forms"), &t.admin(), form).await;
    assert_eq!(form.status, 201, "{:?}", form.body);
    let key = form.body["key"].as_str().unwrap().to_string();
    let submit_path = format!("/api/forms/{key}/submit");
    let submit = |last: &'static str| {
        let body = json!({"first_name": "Nell", "last_name": last, "email": "nell@news.example", "consent": "on"});
        app.call(Method::POST, &submit_path, None, Some(body), &[])
    };
    assert_eq!(submit("First").await.status, 202);
    let leads = keel_tests::all_leads(&app, &t).await;
    let lead = leads[0]["id"].as_str().unwrap().to_string();
    let view = consent(&app, &t, &lead).await;
    assert_eq!(channel(&view, "email")["status"], "granted");
    assert_eq!(view["history"]["items"][0]["proof"], "Send me the monthly newsletter.");
    let events: Vec<Value> =
        outbox(&app, &t).await.into_iter().filter(|e| e["detail_type"] == "ConsentChanged").collect();
    assert_eq!(events.len(), 1, "a form's consent is an event like any other");
    assert!(events[0]["detail"]["source"].as_str().unwrap().starts_with("form:"));

    // The person unsubscribes; then anyone ticks the box on the form with their email.
    let r = app
        .post(&t.path(&format!("/leads/{lead}/consent/unsubscribe-link")), &t.admin(), json!({"channel": "email"}))
        .await;
    let token = r.body["token"].as_str().unwrap().to_string();
    let public = format!("/api/unsubscribe/{token}");
    assert_eq!(app.call(Method::POST, &public, None, None, &[]).await.status, 200);
    assert_eq!(submit("Again").await.status, 202, "the submission itself is taken");
    let view = consent(&app, &t, &lead).await;
    assert_eq!(channel(&view, "email")["status"], "withdrawn", "{view:?}");
    assert_eq!(view["history"]["items"].as_array().unwrap().len(), 2, "no grant recorded over the withdrawal");

    // The owner records a new grant (the person asked); the same old link then withdraws again.
    let grant =
        json!({"channel": "email", "status": "granted", "proof": "Asked on the phone to get the newsletter again"});
    assert_eq!(app.post(&t.path(&format!("/leads/{lead}/consent")), &t.admin(), grant).await.status, 201);
    assert_eq!(app.call(Method::POST, &public, None, None, &[]).await.status, 200);
    let view = consent(&app, &t, &lead).await;
    assert_eq!(channel(&view, "email")["status"], "withdrawn");
    let sources: Vec<&str> =
        view["history"]["items"].as_array().unwrap().iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(sources.iter().filter(|s| **s == "unsubscribe-link").count(), 2, "{sources:?}");
}

#[tokio::test]
async fn an_administrator_exports_everything_held_about_a_person() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(4)).await["id"].as_str().unwrap().to_string();
    let path = t.path(&format!("/leads/{lead}/consent"));
    let grant = json!({"channel": "email", "status": "granted", "proof": "Signed up at the booth"});
    assert_eq!(app.post(&path, &t.admin(), grant).await.status, 201);
    let bant = json!({"bant": {"budget": 20, "authority": 20, "need": 20, "timeline": 15}});
    assert_eq!(app.post(&t.path(&format!("/leads/{lead}/qualify")), &t.admin(), bant).await.status, 200);
    let converted = app.post(&t.path(&format!("/leads/{lead}/convert")), &t.admin(), json!({})).await;
    assert_eq!(converted.status, 201, "{:?}", converted.body);
    // The timeline consumer records the capture on the lead asynchronously.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let timeline = t.path(&format!("/leads/{lead}/timeline"));
    while app.get(&timeline, &t.admin()).await.body["items"].as_array().is_none_or(Vec::is_empty) {
        assert!(std::time::Instant::now() < deadline, "the timeline never recorded the lead");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let export = t.path(&format!("/leads/{lead}/export"));
    let r = app.get(&export, &t.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["lead"]["email"], "ana.4@acme.example");
    assert_eq!(r.body["consent"][0]["proof"], "Signed up at the booth");
    assert!(!r.body["activities"].as_array().unwrap().is_empty());
    let actions: Vec<&str> = r.body["audit"].as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(actions.contains(&"lead.create") && actions.contains(&"consent.grant"), "{actions:?}");
    assert_eq!(r.body["contact"]["contact"]["email"], "ana.4@acme.example", "the contact the lead became");
    assert_eq!(r.body["qualification"][0]["record"], "assessment", "{:?}", r.body["qualification"]);
    assert_eq!(r.body["qualification"][0]["bant"]["budget"], 20);
    // The conversion's activity shows on both timelines; the export lists it once.
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
    };
    let on_lead = ids(&r.body["activities"]);
    assert!(ids(&r.body["contact"]["activities"]).iter().all(|id| !on_lead.contains(id)), "{:?}", r.body);
    // Handing the data out is audited.
    let trail = app.get(&format!("/api/audit?entity_type=lead&entity_id={lead}"), &t.admin()).await;
    assert!(trail.body["items"].as_array().unwrap().iter().any(|a| a["action"] == "lead.export"));

    // Administrators only; another company finds nothing.
    let manager = app.user_token(&t, &ulid::Ulid::new().to_string(), Role::Manager).await;
    assert_eq!(app.get(&export, &manager).await.status, 403);
    let other = app.tenant().await;
    assert_eq!(app.get(&other.path(&format!("/leads/{lead}/export")), &other.admin()).await.status, 404);
    assert_eq!(app.get(&t.path(&format!("/leads/{}/export", ulid::Ulid::new())), &t.admin()).await.status, 404);
}

#[tokio::test]
async fn administrators_set_what_each_channel_needs_and_every_change_is_audited() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let policies = t.path("/data/governance/policies");
    let r = app.get(&policies, &t.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["version"].as_u64(), r.body["consent"]["email"].as_str()), (Some(0), Some("not_withdrawn")));
    assert_eq!(r.body["consent"]["whatsapp"], "opt_in");
    let lead = capture(&app, &t, lead_body(5)).await["id"].as_str().unwrap().to_string();
    assert_eq!(channel(&consent(&app, &t, &lead).await, "email")["check"]["decision"], "allowed");

    // Email only after an opt-in: a lead never asked is blocked from the next send on.
    let r = app
        .call(
            Method::PUT,
            &policies,
            Some(&t.admin()),
            Some(json!({"version": 0, "consent": {"email": "opt_in"}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["version"].as_u64(), r.body["consent"]["phone"].as_str()), (Some(1), Some("not_withdrawn")));
    let view = consent(&app, &t, &lead).await;
    assert_eq!(
        (channel(&view, "email")["requirement"].as_str(), channel(&view, "email")["check"]["decision"].as_str()),
        (Some("opt_in"), Some("blocked"))
    );
    let trail = app.get("/api/audit?entity_type=policy&entity_id=governance", &t.admin()).await;
    let change = &trail.body["items"][0]["changes"][0];
    assert_eq!(
        (change["field"].as_str(), change["before"].as_str(), change["after"].as_str()),
        (Some("consent.email"), Some("not_withdrawn"), Some("opt_in"))
    );

    // A stale version, a bad value, WhatsApp without opt-in, an unknown field: refused, nothing saved.
    let admin = t.admin();
    let put = |body: Value| app.call(Method::PUT, &policies, Some(&admin), Some(body), &[]);
    assert_eq!(put(json!({"version": 0, "consent": {"email": "not_withdrawn"}})).await.status, 409);
    let r = put(json!({"version": 1, "consent": {"sms": "maybe", "whatsapp": "not_withdrawn"}})).await;
    assert_eq!(
        (r.status.as_u16(), r.error_fields()),
        (400, vec!["consent.sms".to_string(), "consent.whatsapp".into()])
    );
    assert_eq!(put(json!({"version": 1, "retention_days": 30})).await.status, 400);
    assert_eq!(app.get(&policies, &t.admin()).await.body["version"], 1);

    // Administrators only; another company reaches nothing.
    let manager = app.user_token(&t, &ulid::Ulid::new().to_string(), Role::Manager).await;
    assert_eq!(app.get(&policies, &manager).await.status, 403);
    let other = app.tenant().await;
    assert_eq!(app.get(&other.path("/data/governance/policies"), &t.admin()).await.status, 404);
    assert_eq!(app.get(&other.path("/data/governance/policies"), &other.admin()).await.body["version"], 0);
}

fn person(first: &str, last: &str, email: Option<&str>, phone: Option<&str>, company: Option<&str>) -> Value {
    json!({"first_name": first, "last_name": last, "email": email, "phone": phone, "company_name": company,
        "source": "Trade fair", "campaign": "Fair-2026", "medium": "event"})
}

/// The candidates of `lead` as (name, rules) once they are `expected` (the index follows lead
/// events through the bus).
fn name(lead: &Value) -> String {
    format!("{} {}", lead["first_name"].as_str().unwrap(), lead["last_name"].as_str().unwrap())
}

async fn duplicates_become(app: &TestApp, t: &Tenant, lead: &str, expected: Value) -> Value {
    let path = t.path(&format!("/leads/{lead}/duplicates"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        let r = app.get(&path, &t.admin()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let found: Vec<Value> =
            r.body["candidates"].as_array().unwrap().iter().map(|c| json!([name(&c["lead"]), c["rules"]])).collect();
        if Value::Array(found.clone()) == expected {
            return r.body;
        }
        assert!(std::time::Instant::now() < deadline, "the duplicates never became {expected}: {found:?}");
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn possible_duplicates_are_listed_with_the_rule_that_matched_and_follow_every_change() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let other = app.tenant().await;
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let jon = id(capture(
        &app,
        &t,
        person("Jon", "Smith", Some("jon@acme.example"), Some("+442079460958"), Some("Acme Ltd")),
    )
    .await);
    let john =
        id(capture(&app, &t, person("John", "Smith", Some("john.smith@acme.example"), None, Some("ACME limited")))
            .await);
    // Another person at the same company, and the same name at a personal mail provider: not duplicates.
    capture(&app, &t, person("Bob", "Ng", Some("bob@acme.example"), None, Some("Acme"))).await;
    capture(&app, &t, person("Jon", "Smith", Some("jon.smith@gmail.com"), None, None)).await;
    // The same national number under another country code: the same person if the name agrees.
    capture(&app, &t, person("Jonny", "Smith", None, Some("+12079460958"), None)).await;
    // Another company's look-alike is never anyone else's candidate.
    capture(&app, &other, person("Jon", "Smyth", Some("jon@acme.example"), Some("+442079460958"), Some("Acme Ltd")))
        .await;

    let both = json!(["similar_name_same_company", "similar_name_same_domain"]);
    let view =
        duplicates_become(&app, &t, &jon, json!([["Jonny Smith", ["same_phone"]], ["John Smith", both.clone()]])).await;
    let smith = &view["candidates"][1];
    assert_eq!(smith["lead"]["id"], john.as_str());
    assert!(smith["similarity"].as_f64().unwrap() > 0.9, "{smith:?}");
    assert_eq!(smith["lead"].get("notes"), None, "the list carries what it shows, not the whole lead");
    // The list goes both ways.
    duplicates_become(&app, &t, &john, json!([["Jon Smith", both.clone()]])).await;

    // A change of name or company moves the lead out of (or into) its matches.
    let r = app
        .patch(
            &t.path(&format!("/leads/{john}")),
            &t.admin(),
            json!({"version": 1, "first_name": "Mary", "last_name": "Jones"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    duplicates_become(&app, &t, &jon, json!([["Jonny Smith", ["same_phone"]]])).await;
    // The list compares the leads as they are, so it can be right before the index is: wait for
    // the consumer to refile the renamed lead (moving its entries to another block) before the
    // next change.
    let keys = keel_store::TenantKeys::new(&t.id);
    keel_tests::eventually("the renamed lead to be refiled", || async {
        let filed = keel_store::duplicates::filed(&app.state.db, &keys, &john).await.unwrap();
        filed.is_some_and(|f| f.name == "mary jones")
    })
    .await;
    let stale = app.state.db.get(&keys.key("MATCH#C#acme"), &format!("js#{john}")).await.unwrap();
    assert_eq!(stale, None, "the entries left the old name's block");
    let r = app
        .patch(
            &t.path(&format!("/leads/{john}")),
            &t.admin(),
            json!({"version": 2, "first_name": "John", "last_name": "Smith"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    duplicates_become(&app, &t, &jon, json!([["Jonny Smith", ["same_phone"]], ["John Smith", both]])).await;

    // Another company sees nothing of it; an id that is not a lead is a 404.
    assert_eq!(app.get(&other.path(&format!("/leads/{jon}/duplicates")), &other.admin()).await.status, 404);
    assert_eq!(app.get(&t.path(&format!("/leads/{}/duplicates", ulid::Ulid::new())), &t.admin()).await.status, 404);
    assert_eq!(app.get(&t.path("/leads/not-a-lead/duplicates"), &t.admin()).await.status, 404);
}

/// Every item of the duplicate index about `lead`: its keys record and its entries, as stored.
async fn filed_items(app: &TestApp, t: &Tenant, lead: &str) -> Vec<keel_store::Item> {
    let keys = keel_store::TenantKeys::new(&t.id);
    let record = app.state.db.get(&keys.lead(lead), keel_store::duplicates::FILED_SK).await.unwrap();
    let mut out: Vec<keel_store::Item> = record.into_iter().collect();
    let filed = keel_store::duplicates::filed(&app.state.db, &keys, lead).await.unwrap().unwrap_or_default();
    for key in filed.keys {
        let block = keel_core::duplicates::name_block(&filed.name);
        let entry = app.state.db.get(&keys.key(&format!("MATCH#{key}")), &format!("{block}#{lead}")).await.unwrap();
        out.push(entry.expect("an entry for every key the lead is filed under"));
    }
    out
}

#[tokio::test]
async fn the_duplicate_index_files_each_lead_once_under_redelivery_and_racing_events() {
    use keel_worker::Harness;
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead =
        capture(&app, &t, person("Ivy", "Stone", Some("ivy@stone.example"), Some("+442079461111"), Some("Stone & Co")))
            .await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let r = app
        .patch(&t.path(&format!("/leads/{lead_id}")), &t.admin(), json!({"version": 1, "company_name": "Quarry plc"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let events = outbox(&app, &t).await;
    let envelopes: Vec<keel_events::Envelope> = events
        .iter()
        .filter(|e| e["detail"]["lead_id"] == lead_id.as_str())
        .map(|e| serde_json::from_value(e.clone()).unwrap())
        .collect();
    assert_eq!(envelopes.len(), 2, "{events:?}");

    // The two events at once, beside the plumbing's own delivery of them; then each delivered
    // again. An event another delivery holds is `Busy`: the queue offers it again later.
    let db = app.state.db.clone();
    let harness = Harness::new(db.clone(), keel_governance::DuplicateIndex { db: db.clone() });
    let deliver = |e: &keel_events::Envelope| {
        let (harness, e) = (&harness, e.clone());
        async move {
            loop {
                match harness.apply(&e).await {
                    keel_worker::Outcome::Busy => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                    outcome => break outcome,
                }
            }
        }
    };
    let applied =
        |o: &keel_worker::Outcome| matches!(o, keel_worker::Outcome::Applied | keel_worker::Outcome::Duplicate);
    for outcome in futures::future::join_all(envelopes.iter().map(deliver)).await {
        assert!(applied(&outcome), "{outcome:?}");
    }
    let keys = keel_store::TenantKeys::new(&t.id);
    let filed = keel_store::duplicates::filed(&db, &keys, &lead_id).await.unwrap().unwrap();
    assert_eq!(filed.version, 2, "filed from the lead as it is now");
    let want: std::collections::BTreeSet<String> =
        ["C#quarry", "D#stone.example", "E#ivy@stone.example", "P#2079461111"].map(String::from).into();
    assert_eq!(filed.name, "ivy stone");
    assert_eq!(filed.keys, want);
    // What it left is gone: the old company's partition holds nothing of it.
    let old = app.state.db.get(&keys.key("MATCH#C#stone"), &format!("is#{lead_id}")).await.unwrap();
    assert_eq!(old, None);
    let before = filed_items(&app, &t, &lead_id).await;
    assert_eq!(before.len(), 5);
    // Delivered again, and the older event as if it were new (the handler itself runs): nothing changes.
    for e in &envelopes {
        assert!(applied(&deliver(e).await));
        let older = keel_events::Envelope { event_id: ulid::Ulid::new(), ..e.clone() };
        assert_eq!(deliver(&older).await, keel_worker::Outcome::Applied);
    }
    assert_eq!(filed_items(&app, &t, &lead_id).await, before);
}

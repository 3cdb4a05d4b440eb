//! Capture channels: website forms (public submissions, attribution, consent proof, honeypot,
//! origins, limits, a known person never duplicated, the same submission applied once, parallel
//! submissions of one new person), the WhatsApp webhook (challenge, signatures, one lead per phone,
//! messages once per id) and row validation that writes nothing.

use axum::body::Body;
use axum::http::{header, Method, Request};
use keel_http::Role;
use keel_testkit::{Tenant, TestApp, TestResponse};
use keel_tests::{all_leads, capture, lead_body, partition};
use serde_json::{json, Value};

fn form_body() -> Value {
    json!({
        "name": "Contact sales",
        "fields": [
            {"name": "first_name", "label": "First name"},
            {"name": "last_name", "label": "Last name"},
            {"name": "email", "label": "Work email", "required": true},
            {"name": "company_name", "label": "Company"},
            {"name": "notes", "label": "How can we help?"}
        ],
        "source": "Website", "campaign": "Always on", "medium": "web form",
        "consent_text": "I agree that Acme may contact me about its products.",
        "allowed_origins": ["https://www.acme.example"],
        "redirect_url": "https://www.acme.example/thanks"
    })
}

async fn new_form(app: &TestApp, t: &Tenant, body: Value) -> Value {
    let r = app.post(&t.path("/forms"), &t.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn submit(app: &TestApp, key: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
    app.call(Method::POST, &format!("/api/forms/{key}/submit"), None, Some(body), headers).await
}

async fn submit_raw(app: &TestApp, key: &str, content_type: &str, body: String) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/forms/{key}/submit"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

fn person(n: u32) -> Value {
    json!({"first_name": "Grace", "last_name": format!("Hopper {n}"), "email": format!("grace.{n}@navy.example"),
        "company_name": "Navy", "consent": "on"})
}

async fn lead_of(app: &TestApp, t: &Tenant, email: &str) -> Vec<Value> {
    all_leads(app, t).await.into_iter().filter(|l| l["email"] == email).collect()
}

async fn timeline(app: &TestApp, t: &Tenant, lead_id: &str) -> Vec<Value> {
    let r = app.get(&t.path(&format!("/leads/{lead_id}/timeline")), &t.admin()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_form_submission_becomes_an_attributed_lead_with_its_consent_proof() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    app.user_token(&t, "rep-a", Role::SalesRep).await;
    app.user_token(&t, "rep-b", Role::SalesRep).await;
    let form = new_form(&app, &t, form_body()).await;
    let key = form["key"].as_str().unwrap();
    assert_eq!(key.len(), 32);

    let mut body = person(1);
    body["utm_campaign"] = json!("Autumn launch");
    let r = submit(&app, key, body, &[("origin", "https://www.acme.example")]).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body, json!({"status": "received"}));
    let leads = lead_of(&app, &t, "grace.1@navy.example").await;
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(
        (lead["source"].as_str(), lead["campaign"].as_str(), lead["medium"].as_str()),
        (Some("Website"), Some("Autumn launch"), Some("web form"))
    );
    assert!(["rep-a", "rep-b"].contains(&lead["owner_id"].as_str().unwrap()), "round-robin among the reps: {lead}");
    let lead_id = lead["id"].as_str().unwrap();
    let items = partition(&app, keel_store::TenantKeys::new(&t.id).lead(lead_id)).await;
    let consent: Vec<_> =
        items.iter().filter(|i| i["entity"].as_s().ok().map(String::as_str) == Some("consent")).collect();
    assert_eq!(consent.len(), 1, "one consent proof");
    assert_eq!(consent[0]["proof"].as_s().unwrap(), "I agree that Acme may contact me about its products.");
    assert_eq!(consent[0]["source"].as_s().unwrap(), &format!("form:{}", form["id"].as_str().unwrap()));
    // The capture is audited and announced like any other.
    let events = keel_tests::outbox(&app, &t).await;
    assert!(events.iter().any(|e| e["detail_type"] == "LeadCreated" && e["actor"]["role"] == "form"));

    // Two more people: the reps take turns.
    for n in [2, 3] {
        assert_eq!(submit(&app, key, person(n), &[]).await.status, 202);
    }
    let owners: Vec<String> =
        all_leads(&app, &t).await.iter().map(|l| l["owner_id"].as_str().unwrap().to_string()).collect();
    assert!(owners.contains(&"rep-a".to_string()) && owners.contains(&"rep-b".to_string()), "{owners:?}");
}

#[tokio::test]
async fn a_known_person_is_never_duplicated_and_the_same_submission_counts_once() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let form = new_form(&app, &t, form_body()).await;
    let key = form["key"].as_str().unwrap();
    // Known already, from a manual capture.
    let mut known = lead_body(7);
    known["email"] = json!("grace.7@navy.example");
    let existing = capture(&app, &t, known).await;
    let before = existing["score"].as_u64().unwrap();

    let mut again = person(7);
    again["notes"] = json!("Please call me back");
    let r = submit(&app, key, again.clone(), &[]).await;
    assert_eq!((r.status.as_u16(), &r.body), (202, &json!({"status": "received"})), "answered like a new person");
    // The same submission resent (a double click) is applied once.
    assert_eq!(submit(&app, key, again, &[]).await.status, 202);
    let leads = lead_of(&app, &t, "grace.7@navy.example").await;
    assert_eq!(leads.len(), 1, "no duplicate");
    assert_eq!(leads[0]["interactions"], 1);
    assert_eq!(leads[0]["score"].as_u64().unwrap(), before + 5, "the submission adds to the score");
    let entries = timeline(&app, &t, existing["id"].as_str().unwrap()).await;
    let sent: Vec<_> =
        entries.iter().filter(|a| a["subject"].as_str().unwrap_or("").starts_with("Sent the form")).collect();
    assert_eq!(sent.len(), 1, "{entries:?}");
    assert!(sent[0]["body"].as_str().unwrap().contains("How can we help?: Please call me back"));

    // A converted lead is history: the submission shows on it and on its account, the lead stays.
    let mut converted = lead_body(8);
    converted["email"] = json!("grace.8@navy.example");
    let converted = capture(&app, &t, converted).await;
    let path = t.path(&format!("/leads/{}", converted["id"].as_str().unwrap()));
    let bant = json!({"bant": {"budget": 20, "authority": 20, "need": 20, "timeline": 20}});
    assert_eq!(app.post(&format!("{path}/qualify"), &t.admin(), bant).await.status, 200);
    let conversion = app.post(&format!("{path}/convert"), &t.admin(), json!({})).await;
    assert_eq!(conversion.status, 201, "{:?}", conversion.body);
    let before = app.get(&path, &t.admin()).await.body;
    assert_eq!(submit(&app, key, person(8), &[]).await.status, 202);
    assert_eq!(app.get(&path, &t.admin()).await.body, before, "the converted lead is unchanged");
    let account = before["conversion"]["account_id"].as_str().unwrap();
    let on_account = app.get(&t.path(&format!("/customers/{account}/timeline")), &t.admin()).await.body;
    assert!(
        on_account["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["subject"].as_str().unwrap_or("").starts_with("Sent the form")),
        "{on_account}"
    );
}

#[tokio::test]
async fn parallel_submissions_of_one_new_person_make_one_lead() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let form = new_form(&app, &t, form_body()).await;
    let key = form["key"].as_str().unwrap().to_string();
    let sends = (0..5).map(|i| {
        let mut body = person(40);
        body["notes"] = json!(format!("attempt {i}"));
        let (app, key) = (&app, key.clone());
        async move { submit(app, &key, body, &[]).await.status }
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let leads = lead_of(&app, &t, "grace.40@navy.example").await;
    assert_eq!(leads.len(), 1, "one lead for one person");
    assert_eq!(leads[0]["interactions"], 4, "the other four submissions were logged on it");
    assert_eq!(leads[0]["version"], 5);
}

#[tokio::test]
async fn bad_submissions_are_refused_and_store_nothing() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let began = chrono::Utc::now().timestamp();
    let mut definition = form_body();
    definition["consent_required"] = json!(true);
    let form = new_form(&app, &t, definition).await;
    let key = form["key"].as_str().unwrap();

    // A page the form does not allow.
    let r = submit(&app, key, person(1), &[("origin", "https://evil.example")]).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    // Missing and invalid fields, each named; no consent.
    let r = submit(&app, key, json!({"first_name": "G", "email": "nope", "utm_source": "a\u{0}b"}), &[]).await;
    assert_eq!(r.status, 400);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["consent", "email", "last_name", "utm_source"]);
    // Not JSON nor a form; nested values; too big.
    assert_eq!(submit_raw(&app, key, "text/plain", "first_name=G".into()).await.status, 415);
    assert_eq!(submit(&app, key, json!({"first_name": {"x": 1}}), &[]).await.status, 400);
    let big = format!("first_name=G&last_name=H&email=g%40h.example&consent=on&notes={}", "x".repeat(17 * 1024));
    let r = submit_raw(&app, key, "application/x-www-form-urlencoded", big).await;
    assert_eq!((r.status.as_u16(), r.body["detail"].as_str()), (413, Some("The request body is larger than 16 KB.")));
    let huge = format!("notes={}", "x".repeat(300 * 1024));
    let r = submit_raw(&app, key, "application/x-www-form-urlencoded", huge).await;
    assert_eq!((r.status.as_u16(), r.body["type"].as_str()), (413, Some("/api/problems/too-large")), "not axum's text");
    // An unknown or malformed key.
    assert_eq!(submit(&app, "A".repeat(32).as_str(), person(1), &[]).await.status, 404);
    assert_eq!(submit(&app, "short", person(1), &[]).await.status, 404);
    // The honeypot: answered as received, kept nowhere.
    let mut bot = person(2);
    bot["nickname"] = json!("buy-now");
    assert_eq!(submit(&app, key, bot, &[]).await.status, 202);
    assert!(all_leads(&app, &t).await.is_empty(), "nothing was stored");

    // An HTML form post goes to the thank-you page.
    let html = "first_name=Ada&last_name=Lovelace&email=ada%40acme.example&consent=on".to_string();
    let r = submit_raw(&app, key, "application/x-www-form-urlencoded", html).await;
    assert_eq!((r.status.as_u16(), r.header("location")), (303, Some("https://www.acme.example/thanks")));
    assert_eq!(all_leads(&app, &t).await.len(), 1);

    // One address sends at most 10 submissions in ten minutes. Three of this test's counted (the
    // invalid one, the honeypot's, the HTML form's; those refused before the form's origin was
    // checked do not): seven more pass, the next does not.
    for n in 10..17 {
        assert_eq!(submit(&app, key, person(n), &[]).await.status, 202);
    }
    let r = submit(&app, key, person(17), &[]).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(all_leads(&app, &t).await.len(), 8);
    // The form's own limit counts only valid submissions that passed the address limits, so one
    // address hammering the form leaves it open to everyone else.
    for n in 18..23 {
        assert_eq!(submit(&app, key, person(n), &[]).await.status, 429);
    }
    let form_id = form["id"].as_str().unwrap();
    let counted = keel_store::window_limit::count_since(&app.state.db, keel_capture::FORM_SUBMISSIONS, form_id, began)
        .await
        .unwrap();
    assert_eq!(counted, 8, "the accepted submissions only");
    let neighbour = keel_tests::app().await;
    assert_eq!(submit(&neighbour, key, person(23), &[]).await.status, 202);
    assert_eq!(all_leads(&app, &t).await.len(), 9);
}

#[tokio::test]
async fn forms_are_kept_by_managers_with_versions_and_keys_that_rotate() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    assert_eq!(app.post(&t.path("/forms"), &rep, form_body()).await.status, 403);
    let mut bad = form_body();
    bad["fields"] = json!([{"name": "email", "label": "Email"}]);
    bad["campaign"] = json!("");
    bad["owner"] = json!({"kind": "user", "user_id": "01JCNOSUCHUSER000000000000"});
    let r = app.post(&t.path("/forms"), &t.admin(), bad).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(r.error_fields().contains(&"campaign".to_string()) && r.error_fields().contains(&"fields".to_string()));

    let form = new_form(&app, &t, form_body()).await;
    let id = form["id"].as_str().unwrap();
    let old_key = form["key"].as_str().unwrap().to_string();
    let path = t.path(&format!("/forms/{id}"));
    let stale = app.patch(&path, &t.admin(), json!({"version": 7, "name": "Talk to us"})).await;
    assert_eq!(stale.status, 409);
    let rotated = app.patch(&path, &t.admin(), json!({"version": 1, "rotate_key": true, "name": "Talk to us"})).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_key = rotated.body["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, old_key);
    assert_eq!(submit(&app, &old_key, person(1), &[]).await.status, 404, "the old key stopped working");
    assert_eq!(submit(&app, &new_key, person(1), &[]).await.status, 202);
    let listed = app.get(&t.path("/forms"), &rep).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let gone = app.call(Method::DELETE, &path, Some(&t.admin()), None, &[("if-match", "\"2\"")]).await;
    assert_eq!(gone.status, 204, "{:?}", gone.body);
    assert_eq!(submit(&app, &new_key, person(2), &[]).await.status, 404, "a deleted form takes nothing");
    assert_eq!(all_leads(&app, &t).await.len(), 1, "its leads stay");
}

fn sign(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn delivery(message_id: &str, from: &str, name: &str, text: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "contacts": [{"wa_id": from, "profile": {"name": name}}],
        "messages": [{"id": message_id, "from": from, "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": text}}]
    }}]}]})
    .to_string()
}

async fn deliver(app: &TestApp, path: &str, body: String, signature: Option<String>) -> TestResponse {
    let mut request =
        Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(s) = signature {
        request = request.header("x-hub-signature-256", s);
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn whatsapp_messages_reach_one_lead_per_phone_once_per_message() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let setup = json!({"app_secret": "app-secret-0123456789", "verify_token": "verify-me-please"});
    assert_eq!(
        app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&manager), Some(setup.clone()), &[]).await.status,
        403
    );
    assert_eq!(app.get(&t.path("/channels/whatsapp"), &t.admin()).await.status, 404, "not set up yet");
    let r = app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&t.admin()), Some(json!({})), &[]).await;
    assert_eq!(r.status, 400, "the first setup needs the secrets: {:?}", r.body);
    let short = json!({"app_secret": "short", "verify_token": "tiny"});
    let r = app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&t.admin()), Some(short), &[]).await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!((r.status.as_u16(), fields), (400, vec!["app_secret".to_string(), "verify_token".to_string()]));
    let viewer = ulid::Ulid::new().to_string();
    app.user_token(&t, &viewer, Role::Viewer).await;
    let setup_for_viewer = json!({"app_secret": "app-secret-0123456789", "verify_token": "verify-me-please",
        "owner": {"kind": "user", "user_id": viewer}});
    let r = app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&t.admin()), Some(setup_for_viewer), &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.error_fields()),
        (422, vec!["owner.user_id".to_string()]),
        "a viewer owns no leads"
    );
    let channel = app.call(Method::PUT, &t.path("/channels/whatsapp"), Some(&t.admin()), Some(setup), &[]).await;
    assert_eq!(channel.status, 200, "{:?}", channel.body);
    assert!(
        !channel.body.to_string().contains("app-secret-0123456789")
            && !channel.body.to_string().contains("verify-me-please")
    );
    let hook = channel.body["webhook_path"].as_str().unwrap().to_string();

    // WhatsApp's subscription check.
    let ok = app
        .call(
            Method::GET,
            &format!("{hook}?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!((ok.status.as_u16(), ok.body.clone()), (200, json!(1158201444)));
    let wrong = app
        .call(
            Method::GET,
            &format!("{hook}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(wrong.status, 403);

    // A bad or missing signature stores nothing.
    let first = delivery("wamid.A1", "4915112345678", "Ada Lovelace", "Hi, is the Pro plan available?");
    assert_eq!(deliver(&app, &hook, first.clone(), None).await.status, 401);
    assert_eq!(deliver(&app, &hook, first.clone(), Some(sign("wrong-secret", &first))).await.status, 401);
    assert!(all_leads(&app, &t).await.is_empty());
    // Signed: a lead attributed to WhatsApp, the message on its timeline; a redelivery adds nothing.
    for _ in 0..2 {
        let r = deliver(&app, &hook, first.clone(), Some(sign("app-secret-0123456789", &first))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["messages"], 1);
    }
    let leads = all_leads(&app, &t).await;
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(
        (lead["phone"].as_str(), lead["source"].as_str(), lead["first_name"].as_str(), lead["last_name"].as_str()),
        (Some("+4915112345678"), Some("WhatsApp"), Some("Ada"), Some("Lovelace"))
    );
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let messages = |entries: Vec<Value>| entries.into_iter().filter(|a| a["type"] == "whatsapp").collect::<Vec<_>>();
    assert_eq!(messages(timeline(&app, &t, &lead_id).await).len(), 1);
    // A second message from the same phone: the same lead, one more interaction.
    let second = delivery("wamid.A2", "4915112345678", "Ada Lovelace", "And the price?");
    assert_eq!(deliver(&app, &hook, second.clone(), Some(sign("app-secret-0123456789", &second))).await.status, 200);
    let leads = all_leads(&app, &t).await;
    assert_eq!((leads.len(), leads[0]["interactions"].as_u64()), (1, Some(1)));
    let logged = messages(timeline(&app, &t, &lead_id).await);
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["body"], "And the price?");
    // Signed, but not a delivery.
    assert_eq!(deliver(&app, &hook, "[1,2".into(), Some(sign("app-secret-0123456789", "[1,2"))).await.status, 400);
    // A message without a sender, one with a numeric id and one older than the redelivery window are
    // skipped; the good one beside them is taken, its hidden direction marks dropped.
    let mixed = json!({"entry": [{"changes": [{"value": {"messages": [
        {"id": "wamid.B1", "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": "x"}},
        {"id": 42, "from": "4915112345678", "type": "text", "text": {"body": "x"}},
        {"id": "wamid.B2", "from": "4915112345678", "timestamp": "1765000000", "type": "text", "text": {"body": "x"}},
        {"id": "wamid.B3", "from": "4915112345678", "type": "text", "text": {"body": "Deliver \u{202e}today\u{202c}"}}
    ]}}]}]})
    .to_string();
    let r = deliver(&app, &hook, mixed.clone(), Some(sign("app-secret-0123456789", &mixed))).await;
    assert_eq!((r.status.as_u16(), r.body["messages"].as_u64(), r.body["skipped"].as_u64()), (200, Some(1), Some(3)));
    assert_eq!(messages(timeline(&app, &t, &lead_id).await)[0]["body"], "Deliver today");
    // Too big for any request: the same problem document as everywhere.
    let huge = format!("{{\"entry\": \"{}\"}}", "x".repeat(300 * 1024));
    let r = deliver(&app, &hook, huge.clone(), Some(sign("app-secret-0123456789", &huge))).await;
    assert_eq!((r.status.as_u16(), r.body["type"].as_str()), (413, Some("/api/problems/too-large")));

    // Another company's hook does not take this company's secret, nor reach its leads.
    let other = app.tenant().await;
    let theirs = app
        .call(
            Method::PUT,
            &other.path("/channels/whatsapp"),
            Some(&other.admin()),
            Some(json!({"app_secret": "their-secret-0123456789", "verify_token": "theirs-to-verify"})),
            &[],
        )
        .await;
    let their_hook = theirs.body["webhook_path"].as_str().unwrap().to_string();
    let third = delivery("wamid.A3", "4915112345678", "Ada Lovelace", "Hello?");
    assert_eq!(
        deliver(&app, &their_hook, third.clone(), Some(sign("app-secret-0123456789", &third))).await.status,
        401
    );
    assert!(all_leads(&app, &other).await.is_empty());
    // Rotating the hook key retires the old address.
    let rotated = app
        .call(
            Method::PUT,
            &t.path("/channels/whatsapp"),
            Some(&t.admin()),
            Some(json!({"version": 1, "rotate_hook_key": true})),
            &[],
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    assert_eq!(deliver(&app, &hook, third.clone(), Some(sign("app-secret-0123456789", &third))).await.status, 404);
}

#[tokio::test]
async fn validation_reports_every_row_and_writes_nothing() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let viewer = app.user_token(&t, "viewer-1", Role::Viewer).await;
    let existing = capture(&app, &t, lead_body(1)).await;
    let rows = json!({"rows": [
        lead_body(2),
        {"first_name": "No", "last_name": "Reach", "source": "Fair", "campaign": "C", "medium": "M"},
        {"first_name": "Bad", "last_name": "Mail", "email": "nope", "source": "", "campaign": "C", "medium": "M"},
        lead_body(2),
        lead_body(1),
        {"first_name": "Odd", "colour": "blue"},
        {"first_name": "Num", "last_name": "Phone", "phone": 14155550099_u64, "source": "S", "campaign": "C", "medium": "M"},
        ["not", "an", "object"]
    ]});
    assert_eq!(app.post(&t.path("/data/validate"), &viewer, rows.clone()).await.status, 403);
    let r = app.post(&t.path("/data/validate"), &t.admin(), rows).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let report = r.body;
    assert_eq!(
        (report["rows"].as_u64(), report["valid"].as_u64(), report["invalid"].as_u64(), report["duplicates"].as_u64()),
        (Some(8), Some(2), Some(4), Some(2)),
        "{report}"
    );
    let of = |row: u64| {
        report["results"].as_array().unwrap().iter().find(|r| r["row"] == row).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(of(2)["errors"][0]["field"], "email", "reachability");
    let third = of(3);
    let fields: Vec<&str> = third["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"email") && fields.contains(&"source"), "{fields:?}");
    assert_eq!(of(4)["duplicates"][0]["row"], 1, "repeats the first row");
    assert_eq!(of(5)["duplicates"][0]["lead_id"], existing["id"], "a lead holds it");
    assert_eq!(of(6)["errors"][0]["field"], "colour");
    assert_eq!(of(7), Value::Null, "a number is read as a phone");
    assert_eq!(of(8)["errors"][0]["field"], "row");
    assert_eq!(all_leads(&app, &t).await.len(), 1, "nothing was written");
    let empty = app.post(&t.path("/data/validate"), &t.admin(), json!({"rows": []})).await;
    assert_eq!(empty.status, 422);
}

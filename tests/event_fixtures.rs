//! Every API Gateway fixture in `events/` goes through the Lambda request parser and the leads
//! router, and answers the status it documents. A fixture that drifts from the API fails here.

use keel_testkit::TestApp;
use keel_tests::leads_app;

const FIXTURE_COMPANY: &str = "01JCDEMOCOMPANY00000000000";
const FIXTURE_LEAD: &str = "01JD7Z3K8Q6W9X2Y4B5C6D7E8F";

async fn invoke(app: &TestApp, name: &str, company: &str, token: &str, lead: &str) -> keel_testkit::TestResponse {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text.replace(FIXTURE_COMPANY, company).replace(FIXTURE_LEAD, lead).replace("{{TOKEN}}", token);
    let request =
        lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
    let request = request.map(|body| axum::body::Body::from(body.to_vec()));
    app.send(request).await
}

#[tokio::test]
async fn every_fixture_answers_its_documented_status() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let token = t.admin();

    let created = invoke(&app, "api-leads-create.json", &t.id, &token, FIXTURE_LEAD).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let lead = created.body["id"].as_str().unwrap().to_string();
    // The fixture carries an Idempotency-Key: replaying it answers the same lead.
    let replay = invoke(&app, "api-leads-create.json", &t.id, &token, FIXTURE_LEAD).await;
    assert_eq!((replay.status.as_u16(), &replay.body["id"]), (201, &created.body["id"]));

    let expectations = [
        ("api-leads-create-invalid.json", 400),
        ("api-leads-list.json", 200),
        ("api-leads-get.json", 200),
        ("api-leads-update.json", 200),
        ("api-leads-archive.json", 200),
    ];
    for (name, status) in expectations {
        let r = invoke(&app, name, &t.id, &token, &lead).await;
        assert_eq!(r.status, status, "{name}: {:?}", r.body);
    }
    let list = invoke(&app, "api-leads-list.json", &t.id, &token, &lead).await;
    assert!(list.body["items"].as_array().unwrap().is_empty(), "the only lead is archived now");

    // Another tenant replaying the same fixtures against this company gets nothing.
    let other = app.tenant().await;
    for (name, _) in expectations {
        let r = invoke(&app, name, &t.id, &other.admin(), &lead).await;
        assert_eq!(r.status, 404, "{name}");
    }
}

#[test]
fn every_fixture_in_events_is_covered() {
    let dir = format!("{}/../events", env!("CARGO_MANIFEST_DIR"));
    let source = include_str!("event_fixtures.rs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("api-") && name.ends_with(".json") {
            assert!(source.contains(&format!("\"{name}\"")), "{name} has no expectation in this test");
        }
    }
}

#[tokio::test]
async fn the_identity_fixtures_sign_up_sign_in_and_read_the_session() {
    let app = TestApp::new(keel_tests::identity_router).await;
    // A fresh address per run: the fixtures' fixed email would otherwise belong to several companies.
    let email = format!("ana.{}@acme.example", ulid::Ulid::new().to_string().to_lowercase());
    let load = |name: &str, token: &str| {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("ana.silva@acme.example", &email)
            .replace("{{TOKEN}}", token);
        lambda_http::request::from_str(&text).unwrap().map(|body| axum::body::Body::from(body.to_vec()))
    };
    let registered = app.send(load("api-auth-register.json", "")).await;
    assert_eq!(registered.status, 202, "{:?}", registered.body);
    let token = keel_infra::mailbox::latest_token(&email, "verify-email").await;
    let verified = app.send(load("api-auth-verify-email.json", &token)).await;
    assert_eq!(verified.status, 201, "{:?}", verified.body);
    let login = app.send(load("api-auth-login.json", "")).await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    let token = login.body["access_token"].as_str().unwrap().to_string();
    let me = app.send(load("api-auth-me.json", &token)).await;
    assert_eq!((me.status.as_u16(), me.body["email"].as_str()), (200, Some(email.as_str())));
    let roles = app.send(load("api-permissions-roles.json", &token)).await;
    assert_eq!(roles.status, 200);
    assert_eq!(roles.body.as_array().unwrap().len(), 4);
}

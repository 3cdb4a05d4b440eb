//! Sign-up, sign-in, refresh rotation with reuse detection, sign-out, lock-out.

use axum::http::Method;
use keel_testkit::{TestApp, TestResponse};
use serde_json::{json, Value};

async fn public(app: &TestApp, path: &str, body: Value) -> TestResponse {
    app.call(Method::POST, path, None, Some(body), &[]).await
}

fn email() -> String {
    format!("owner.{}@acme.example", ulid::Ulid::new().to_string().to_lowercase())
}

async fn register(app: &TestApp, email: &str, company: &str) -> TestResponse {
    let r = public(
        app,
        "/api/auth/register",
        json!({"company_name": company, "full_name": "Ana Silva", "email": email, "password": "Correct-Horse-7"}),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r
}

#[tokio::test]
async fn sign_up_creates_a_company_whose_admin_can_work_right_away() {
    let app = keel_tests::app().await;
    let mail = email();
    let registered = register(&app, &mail, "Acme Ltd").await;
    assert_eq!(registered.header("cache-control"), Some("no-store"), "tokens are never cached");
    let session = registered.body;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    let (company, token) = (session["company_id"].as_str().unwrap(), session["access_token"].as_str().unwrap());

    let me = app.get("/api/auth/me", token).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["email"], mail.as_str());
    assert_eq!(me.body["company_name"], "Acme Ltd");
    assert_eq!(me.body["role"], "admin");
    assert!(me.body["permissions"].as_array().unwrap().contains(&json!("manage_users")));
    assert!(!me.body.to_string().contains("argon2"), "no password hash leaves identity");

    let lead = app.post(&format!("/api/companies/{company}/leads"), token, keel_tests::lead_body(1)).await;
    assert_eq!(lead.status, 201);
    let audit = app.get("/api/audit", token).await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions[0], "lead.create");
    let mut sign_up = actions[1..].to_vec();
    sign_up.sort();
    assert_eq!(sign_up, ["company.create", "user.create"], "sign-up is recorded in its own transaction");
    assert!(!audit.body.to_string().contains("argon2") && !audit.body.to_string().contains("Correct-Horse"));
}

#[tokio::test]
async fn sign_up_names_every_problem_and_writes_nothing() {
    let app = keel_tests::app().await;
    let mail = email();
    let r = public(
        &app,
        "/api/auth/register",
        json!({"company_name": " ", "full_name": "A", "email": "nope", "password": "short"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["company_name", "email", "password"]);
    let weak = public(
        &app,
        "/api/auth/register",
        json!({"company_name": "Acme", "full_name": "A", "email": mail, "password": "alllowercaseletters"}),
    )
    .await;
    assert_eq!(weak.error_fields(), ["password"]);
    let login = public(&app, "/api/auth/login", json!({"email": mail, "password": "alllowercaseletters"})).await;
    assert_eq!(login.status, 401, "nothing was created");
}

#[tokio::test]
async fn sign_in_does_not_tell_unknown_emails_from_wrong_passwords_and_locks_out() {
    let app = keel_tests::app().await;
    let mail = email();
    register(&app, &mail, "Acme").await;
    let ok = public(&app, "/api/auth/login", json!({"email": mail, "password": "Correct-Horse-7"})).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let token = ok.body["access_token"].as_str().unwrap();
    let trail = app.get("/api/audit?entity_type=user", token).await;
    let sign_ins = trail.body["items"].as_array().unwrap().iter().filter(|r| r["action"] == "user.sign_in").count();
    assert_eq!(sign_ins, 1, "the sign-in is recorded, failed attempts are not");
    let wrong = public(&app, "/api/auth/login", json!({"email": mail, "password": "Wrong-Horse-7"})).await;
    let unknown = public(&app, "/api/auth/login", json!({"email": email(), "password": "Wrong-Horse-7"})).await;
    assert_eq!((wrong.status.as_u16(), unknown.status.as_u16()), (401, 401));
    assert_eq!(wrong.body, unknown.body);
    for _ in 0..4 {
        public(&app, "/api/auth/login", json!({"email": mail, "password": "Wrong-Horse-7"})).await;
    }
    let locked = public(&app, "/api/auth/login", json!({"email": mail, "password": "Correct-Horse-7"})).await;
    assert_eq!(locked.status, 429, "even the right password waits out the lock");
    assert!(locked.header("retry-after").unwrap().parse::<i64>().unwrap() > 0);
}

#[tokio::test]
async fn one_email_in_two_companies_says_which() {
    let app = keel_tests::app().await;
    let mail = email();
    let first = register(&app, &mail, "Acme").await.body;
    let second = register(&app, &mail, "Acme Labs").await.body;
    let r = public(&app, "/api/auth/login", json!({"email": mail, "password": "Correct-Horse-7"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["company_id".to_string()]));
    let r = public(
        &app,
        "/api/auth/login",
        json!({"email": mail, "password": "Correct-Horse-7", "company_id": second["company_id"]}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["company_id"], second["company_id"]);
    assert_ne!(first["company_id"], second["company_id"]);
}

#[tokio::test]
async fn refresh_rotates_reuse_revokes_and_logout_ends_the_session() {
    let app = keel_tests::app().await;
    let session = register(&app, &email(), "Acme").await.body;
    let company = session["company_id"].clone();
    let first = session["refresh_token"].clone();
    let r = public(&app, "/api/auth/refresh", json!({"company_id": company, "refresh_token": first})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let second = r.body["refresh_token"].clone();
    assert_ne!(first, second);
    // The rotated token comes back (stolen copy): refused, and the whole sign-in ends.
    let reuse = public(&app, "/api/auth/refresh", json!({"company_id": company, "refresh_token": first})).await;
    assert_eq!(reuse.status, 401);
    let after = public(&app, "/api/auth/refresh", json!({"company_id": company, "refresh_token": second})).await;
    assert_eq!(after.status, 401);

    let other = public(&app, "/api/auth/login", json!({"email": "x@y.co", "password": "x"})).await;
    assert_eq!(other.status, 401);
    let fresh = register(&app, &email(), "Beta").await.body;
    let out = public(
        &app,
        "/api/auth/logout",
        json!({"company_id": fresh["company_id"], "refresh_token": fresh["refresh_token"]}),
    )
    .await;
    assert_eq!(out.status, 204);
    let gone = public(
        &app,
        "/api/auth/refresh",
        json!({"company_id": fresh["company_id"], "refresh_token": fresh["refresh_token"]}),
    )
    .await;
    assert_eq!(gone.status, 401);
    // Another company's id with a valid token of this one: nothing.
    let cross =
        public(&app, "/api/auth/refresh", json!({"company_id": company, "refresh_token": fresh["refresh_token"]}))
            .await;
    assert_eq!(cross.status, 401);
}

#[tokio::test]
async fn administrators_manage_users_and_keep_at_least_one_admin() {
    let app = keel_tests::app().await;
    let session = register(&app, &email(), "Acme").await.body;
    let (company, admin) =
        (session["company_id"].as_str().unwrap().to_string(), session["access_token"].as_str().unwrap().to_string());
    let users = format!("/api/companies/{company}/users");
    let rep_email = email();
    let added = app
        .post(
            &users,
            &admin,
            json!({"email": rep_email, "full_name": "Rui Costa", "role": "sales_rep", "password": "Another-Pass-9"}),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert!(added.body.get("password_hash").is_none());
    let rep_id = added.body["user_id"].as_str().unwrap().to_string();
    let again =
        app.post(&users, &admin, json!({"email": rep_email, "full_name": "Rui", "password": "Another-Pass-9"})).await;
    assert_eq!(again.status, 409);

    let login = public(&app, "/api/auth/login", json!({"email": rep_email, "password": "Another-Pass-9"})).await;
    assert_eq!(login.status, 200);
    let rep = login.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get(&users, &rep).await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.post(&users, &rep, json!({"email": email(), "full_name": "X", "password": "Another-Pass-9"})).await.status,
        403
    );

    // A user id no user can have is not found, and says which parameter: it never reaches a key.
    let long = app.patch(&format!("{users}/{}", "A".repeat(5000)), &admin, json!({"role": "viewer"})).await;
    assert_eq!((long.status.as_u16(), long.error_fields()), (404, vec!["user_id".to_string()]));

    // The only administrator cannot step down or be deactivated.
    let admin_id = session["user_id"].as_str().unwrap();
    let demote = app.patch(&format!("{users}/{admin_id}"), &admin, json!({"role": "manager"})).await;
    assert_eq!((demote.status.as_u16(), demote.error_fields()), (422, vec!["role".to_string()]));
    assert_eq!(app.patch(&format!("{users}/{admin_id}"), &admin, json!({"active": false})).await.status, 422);
    // With a second administrator it can.
    assert_eq!(app.patch(&format!("{users}/{rep_id}"), &admin, json!({"role": "admin"})).await.status, 200);
    assert_eq!(app.patch(&format!("{users}/{admin_id}"), &admin, json!({"role": "manager"})).await.status, 200);
    // Tokens issued before a role change stop working at once; the user signs in again.
    assert_eq!(app.get(&users, &admin).await.status, 401);
    assert_eq!(app.get(&users, &rep).await.status, 401);

    // A role change takes effect with the user's next token (access tokens live 15 minutes).
    let login = public(&app, "/api/auth/login", json!({"email": rep_email, "password": "Another-Pass-9"})).await;
    let rep = login.body["access_token"].as_str().unwrap().to_string();

    // A deactivated user can no longer sign in.
    let third = email();
    let t = app
        .post(&users, &rep, json!({"email": third, "full_name": "Tom", "role": "viewer", "password": "Another-Pass-9"}))
        .await;
    assert_eq!(t.status, 201, "rep is an admin now");
    let toms = public(&app, "/api/auth/login", json!({"email": third, "password": "Another-Pass-9"})).await.body;
    let tom = format!("{users}/{}", t.body["user_id"].as_str().unwrap());
    let off = app.patch(&tom, &rep, json!({"active": false})).await;
    assert_eq!(off.body["active"], false);
    assert_eq!(
        public(&app, "/api/auth/login", json!({"email": third, "password": "Another-Pass-9"})).await.status,
        401
    );
    // Reactivated, Tom signs in afresh: the sign-in from before the deactivation stays over.
    assert_eq!(app.patch(&tom, &rep, json!({"active": true})).await.status, 200);
    let stale = json!({"company_id": company, "refresh_token": toms["refresh_token"]});
    assert_eq!(public(&app, "/api/auth/refresh", stale).await.status, 401);
    assert_eq!(
        public(&app, "/api/auth/login", json!({"email": third, "password": "Another-Pass-9"})).await.status,
        200
    );

    let audit = app.get("/api/audit?entity_type=user", &rep).await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"user.deactivate") && actions.contains(&"user.update") && actions.contains(&"user.create"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn adding_a_user_with_an_idempotency_key_is_safe_to_retry() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let body =
        json!({"email": "kim@acme.example", "full_name": "Kim", "role": "sales_rep", "password": "Correct-Horse-7"});
    let key = [("idempotency-key", "invite-kim")];
    let first = app.call(Method::POST, &t.path("/users"), Some(&t.admin()), Some(body.clone()), &key).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = app.call(Method::POST, &t.path("/users"), Some(&t.admin()), Some(body.clone()), &key).await;
    assert_eq!(again.status, 201, "a replay answers the first response: {:?}", again.body);
    assert_eq!(again.body["user_id"], first.body["user_id"]);
    let mut other = body.clone();
    other["full_name"] = json!("Kim Other");
    let reused = app.call(Method::POST, &t.path("/users"), Some(&t.admin()), Some(other), &key).await;
    assert_eq!(reused.status, 422, "{:?}", reused.body);
    assert_eq!(reused.body["type"], "/api/problems/idempotency-key-reused");
    // Without a key, the same email is a duplicate naming the existing user.
    let dup = app.post(&t.path("/users"), &t.admin(), body).await;
    assert_eq!(dup.status, 409, "{:?}", dup.body);
    assert_eq!(dup.body["existing_id"], first.body["user_id"]);
    let users = app.get(&t.path("/users"), &t.admin()).await;
    let kims = users.body["items"].as_array().unwrap().iter().filter(|u| u["email"] == "kim@acme.example").count();
    assert_eq!(kims, 1);
}

//! The account lifecycle: sign-up with a proven email, sign-in that tells strangers nothing,
//! lock-out that protects the owner, limits, sessions that end completely, password change and reset.

use axum::http::Method;
use keel_infra::mailbox;
use keel_testkit::{TestApp, TestResponse};
use keel_tests::sign_up;
use serde_json::{json, Value};

async fn public(app: &TestApp, path: &str, body: Value) -> TestResponse {
    app.call(Method::POST, path, None, Some(body), &[]).await
}

fn email() -> String {
    format!("owner.{}@acme.example", ulid::Ulid::new().to_string().to_lowercase())
}

fn sign_up_body(email: &str, company: &str) -> Value {
    json!({"company_name": company, "full_name": "Ana Silva", "email": email, "password": "Correct-Horse-7"})
}

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    public(app, "/api/auth/login", json!({"email": email, "password": password})).await
}

fn refresh_body(session: &Value) -> Value {
    json!({"company_id": session["company_id"], "refresh_token": session["refresh_token"]})
}

#[tokio::test]
async fn sign_up_proves_the_email_before_the_company_exists() {
    let app = keel_tests::app().await;
    let mail = email();
    let asked = public(&app, "/api/auth/register", sign_up_body(&mail, "Acme Ltd")).await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    assert_eq!(asked.body, json!({"email": mail, "expires_in": 86400}), "no session before the email is proven");
    assert_eq!(login(&app, &mail, "Correct-Horse-7").await.status, 401, "nothing exists until the link is used");
    let letters = mailbox::to(&mail).await;
    assert_eq!(letters.len(), 1);
    assert!(!letters[0].body.contains("Acme Ltd"), "the sign-up's own words never travel in Keel's mail");
    assert!(!letters[0].body.contains("Correct-Horse"), "the password never travels by mail");

    // Whoever opens the link must also know the sign-up's password: a person who clicks a link for
    // a sign-up a stranger made in their name creates nothing.
    let token = mailbox::latest_token(&mail, "verify-email").await;
    let clicked = public(&app, "/api/auth/verify-email", json!({"token": token, "password": "Guessed-Horse-1"})).await;
    assert_eq!((clicked.status.as_u16(), clicked.error_fields()), (422, vec!["password".to_string()]));
    // Guessing it is a failed sign-in like any other: limited per email and address.
    let guesser = other_address(&app);
    let mut guesses = Vec::new();
    for _ in 0..6 {
        let r =
            public(&guesser, "/api/auth/verify-email", json!({"token": token, "password": "Guessed-Horse-1"})).await;
        guesses.push(r.status.as_u16());
    }
    assert_eq!(guesses, [422, 422, 422, 422, 422, 429]);
    let verified = public(&app, "/api/auth/verify-email", verification(token)).await;
    assert_eq!(verified.status, 201, "{:?}", verified.body);
    assert_eq!(verified.header("cache-control"), Some("no-store"), "tokens are never cached");
    let session = verified.body;
    assert_eq!((session["token_type"].as_str(), session["expires_in"].as_i64()), (Some("Bearer"), Some(900)));
    let (company, token) = (session["company_id"].as_str().unwrap(), session["access_token"].as_str().unwrap());
    let me = app.get("/api/auth/me", token).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!((me.body["email"].as_str(), me.body["company_name"].as_str()), (Some(mail.as_str()), Some("Acme Ltd")));
    assert_eq!(me.body["role"], "admin");
    assert!(!me.body.to_string().contains("argon2"), "no password hash leaves identity");
    let lead = app.post(&format!("/api/companies/{company}/leads"), token, keel_tests::lead_body(1)).await;
    assert_eq!(lead.status, 201);

    // The link works once; a sign-up sent twice and verified twice opens one company.
    let again = public(&app, "/api/auth/verify-email", verification(token_of(&mail, 0).await)).await;
    assert_eq!((again.status.as_u16(), again.error_fields()), (422, vec!["token".to_string()]));
    assert_eq!(public(&app, "/api/auth/register", sign_up_body(&mail, "ACME LTD")).await.status, 202);
    let twice = public(&app, "/api/auth/verify-email", verification(token_of(&mail, 1).await)).await;
    assert_eq!((twice.status.as_u16(), twice.error_fields()), (409, vec!["company_name".to_string()]));
    assert_eq!(login(&app, &mail, "Correct-Horse-7").await.body["company_id"], company, "still one company");

    let audit = app.get("/api/audit", token).await;
    let mut actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    actions.sort();
    assert_eq!(actions, ["company.create", "lead.create", "user.create", "user.sign_in"]);
    assert!(!audit.body.to_string().contains("argon2") && !audit.body.to_string().contains("Correct-Horse"));
}

fn verification(token: String) -> Value {
    json!({"token": token, "password": "Correct-Horse-7"})
}

async fn token_of(mail: &str, n: usize) -> String {
    mailbox::tokens(mail, "verify-email").await[n].clone()
}

#[tokio::test]
async fn sign_up_names_every_problem_and_writes_nothing() {
    let app = keel_tests::app().await;
    let mail = email();
    let r = public(
        &app,
        "/api/auth/register",
        json!({"company_name": " ", "full_name": "Ana\nSilva", "email": "nope", "password": "short"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["company_name", "email", "full_name", "password"]);
    let weak = public(
        &app,
        "/api/auth/register",
        json!({"company_name": "Acme", "full_name": "A", "email": mail, "password": "alllowercaseletters"}),
    )
    .await;
    assert_eq!(weak.error_fields(), ["password"]);
    assert!(mailbox::to(&mail).await.is_empty(), "nothing was sent");
    let forged = public(&app, "/api/auth/verify-email", verification("made-up".into())).await;
    assert_eq!((forged.status.as_u16(), forged.error_fields()), (422, vec!["token".to_string()]));
}

#[tokio::test]
async fn a_squatted_email_neither_blocks_its_owner_nor_reveals_itself() {
    let app = keel_tests::app().await;
    let owner = email();
    let session = sign_up(&app, &owner, "Acme").await;
    // A stranger signs up with the owner's email: the answer is the one anybody gets, and without
    // the owner's inbox nothing comes of it.
    let stranger = TestApp::with_router(app.state.clone(), app.router());
    let squat = public(&stranger, "/api/auth/register", sign_up_body(&owner, "Squat Inc")).await;
    let fresh = public(&stranger, "/api/auth/register", sign_up_body(&email(), "Squat Inc")).await;
    assert_eq!((squat.status.as_u16(), fresh.status.as_u16()), (202, 202));
    assert_eq!(
        squat.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        fresh.body.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    let signed_in = login(&app, &owner, "Correct-Horse-7").await;
    assert_eq!(signed_in.status, 200, "the owner signs straight in: {:?}", signed_in.body);
    assert_eq!(signed_in.body["company_id"], session["company_id"]);
    // Wrong passwords for a real and an unknown email answer alike.
    let wrong = login(&stranger, &owner, "Wrong-Horse-7").await;
    let unknown = login(&stranger, &email(), "Wrong-Horse-7").await;
    assert_eq!((wrong.status.as_u16(), unknown.status.as_u16()), (401, 401));
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn a_password_right_in_several_companies_asks_which_one_and_only_then() {
    let app = keel_tests::app().await;
    let mail = email();
    let first = sign_up(&app, &mail, "Acme").await;
    let second = sign_up(&app, &mail, "Acme Labs").await;
    assert_ne!(first["company_id"], second["company_id"]);
    // A wrong password learns nothing about the companies.
    let wrong = login(&app, &mail, "Wrong-Horse-7").await;
    assert_eq!(wrong.status, 401);
    assert!(!wrong.body.to_string().contains("Acme"));

    let r = login(&app, &mail, "Correct-Horse-7").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body.get("access_token").is_none(), "no session until a company is chosen");
    let mut names: Vec<&str> =
        r.body["companies"].as_array().unwrap().iter().map(|c| c["company_name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Acme", "Acme Labs"]);
    let choice = r.body["choice_token"].clone();
    let elsewhere = app.tenant().await;
    let not_offered =
        public(&app, "/api/auth/login/choose", json!({"choice_token": choice, "company_id": elsewhere.id})).await;
    assert_eq!((not_offered.status.as_u16(), not_offered.error_fields()), (422, vec!["company_id".to_string()]));
    let chosen =
        public(&app, "/api/auth/login/choose", json!({"choice_token": choice, "company_id": second["company_id"]}))
            .await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    assert_eq!(chosen.body["company_id"], second["company_id"]);
    let me = app.get("/api/auth/me", chosen.body["access_token"].as_str().unwrap()).await;
    assert_eq!(me.body["company_name"], "Acme Labs");
    let replay =
        public(&app, "/api/auth/login/choose", json!({"choice_token": choice, "company_id": first["company_id"]}))
            .await;
    assert!(replay.status.is_client_error() && replay.body.get("access_token").is_none(), "a choice is used once");
    // Naming the company up front signs straight in.
    let direct = public(
        &app,
        "/api/auth/login",
        json!({"email": mail, "password": "Correct-Horse-7", "company_id": first["company_id"]}),
    )
    .await;
    assert_eq!(direct.body["company_id"], first["company_id"]);
}

#[tokio::test]
async fn the_owner_signs_in_from_another_address_during_a_lock_out_flood() {
    let app = keel_tests::app().await;
    let owner = email();
    sign_up(&app, &owner, "Acme").await;
    // Three strangers from three addresses guess until each is locked out.
    for _ in 0..3 {
        let stranger = TestApp::with_router(app.state.clone(), app.router());
        let answers: Vec<u16> = futures_answers(&stranger, &owner, 7).await;
        assert_eq!(answers.iter().filter(|s| **s == 401).count(), 5, "{answers:?}");
        assert_eq!(answers.iter().filter(|s| **s == 429).count(), 2, "{answers:?}");
        let locked = login(&stranger, &owner, "Correct-Horse-7").await;
        assert_eq!(locked.status, 429, "even the right password waits out this address's lock");
        assert!(locked.header("retry-after").unwrap().parse::<i64>().unwrap() > 0);
    }
    // Fifteen failures on the account: the owner, from their own address, is slowed, not locked out.
    let signed_in = login(&app, &owner, "Correct-Horse-7").await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    // An unknown email under the same flood answers exactly the same way.
    let stranger = TestApp::with_router(app.state.clone(), app.router());
    let unknown = futures_answers(&stranger, &email(), 7).await;
    assert_eq!(unknown, [401, 401, 401, 401, 401, 429, 429]);
}

/// The same API, called from another source address.
fn other_address(app: &TestApp) -> TestApp {
    TestApp::with_router(app.state.clone(), app.router())
}

async fn futures_answers(app: &TestApp, email: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(login(app, email, "Wrong-Horse-7").await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn a_sign_up_flood_is_refused_before_any_work_while_signed_in_work_goes_on() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let flood = TestApp::with_router(app.state.clone(), app.router());
    let mut answers = Vec::new();
    for n in 0..9 {
        let r = public(&flood, "/api/auth/register", sign_up_body(&email(), &format!("Flood {n}"))).await;
        answers.push(r.status.as_u16());
        if r.status == 429 {
            assert!(r.header("retry-after").unwrap().parse::<i64>().unwrap() > 0);
        }
        assert_eq!(app.get(&t.path("/leads"), &t.admin()).await.status, 200, "signed-in work goes on");
    }
    assert_eq!(answers, [202, 202, 202, 202, 202, 429, 429, 429, 429]);
    let named =
        public(&other_address(&app), "/api/auth/register", sign_up_body(&email(), "Pay at www.evil.example")).await;
    assert_eq!(named.error_fields(), ["company_name"], "names carry no links into mail");
    // The limit is the address's: someone else signs up meanwhile.
    let other = TestApp::with_router(app.state.clone(), app.router());
    assert_eq!(public(&other, "/api/auth/register", sign_up_body(&email(), "Elsewhere")).await.status, 202);
    // Nor can anyone flood one person's inbox.
    let victim = email();
    let mut to_victim = Vec::new();
    for n in 0..11 {
        let sender = other_address(&app);
        to_victim.push(
            public(&sender, "/api/auth/register", sign_up_body(&victim, &format!("V {n}"))).await.status.as_u16(),
        );
    }
    assert_eq!(to_victim, [[202; 10].as_slice(), &[429]].concat());
    assert_eq!(mailbox::to(&victim).await.len(), 10);
}

#[tokio::test]
async fn signing_out_ends_the_access_token_too() {
    let app = keel_tests::app().await;
    let session = sign_up(&app, &email(), "Acme").await;
    let token = session["access_token"].as_str().unwrap();
    let leads = format!("/api/companies/{}/leads", session["company_id"].as_str().unwrap());
    assert_eq!(app.get("/api/auth/me", token).await.status, 200);
    assert_eq!(public(&app, "/api/auth/logout", refresh_body(&session)).await.status, 204);
    assert_eq!(app.get("/api/auth/me", token).await.status, 401, "identity forgets the session at once");
    assert_eq!(app.get(&leads, token).await.status, 401, "and every other function refuses it");
    assert_eq!(public(&app, "/api/auth/refresh", refresh_body(&session)).await.status, 401);
}

#[tokio::test]
async fn a_stolen_refresh_token_ends_the_sign_in_and_its_access_tokens() {
    let app = keel_tests::app().await;
    let session = sign_up(&app, &email(), "Acme").await;
    let company = session["company_id"].as_str().unwrap().to_string();
    let r = public(&app, "/api/auth/refresh", refresh_body(&session)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rotated = r.body;
    assert_ne!(rotated["refresh_token"], session["refresh_token"]);
    // The old token comes back a minute after its rotation: someone else has a copy.
    keel_tests::age_refresh_rotation(&app, &company, session["refresh_token"].as_str().unwrap(), 60_000).await;
    let reuse = public(&app, "/api/auth/refresh", refresh_body(&session)).await;
    assert_eq!(reuse.status, 401);
    assert_eq!(public(&app, "/api/auth/refresh", refresh_body(&rotated)).await.status, 401, "the whole sign-in ended");
    let leads = format!("/api/companies/{company}/leads");
    assert_eq!(app.get(&leads, rotated["access_token"].as_str().unwrap()).await.status, 401, "access tokens too");
    // Another company's id with this company's token: nothing.
    let other = sign_up(&app, &email(), "Beta").await;
    for nonsense in ["A".repeat(3000), "_identity".to_string()] {
        let r = public(&app, "/api/auth/refresh", json!({"company_id": nonsense, "refresh_token": "x"})).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
    }
    let cross = json!({"company_id": company, "refresh_token": other["refresh_token"]});
    assert_eq!(public(&app, "/api/auth/refresh", cross).await.status, 401);
    assert_eq!(public(&app, "/api/auth/refresh", refresh_body(&other)).await.status, 200);
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_keep_the_session() {
    let app = keel_tests::app().await;
    let session = sign_up(&app, &email(), "Acme").await;
    let (a, b) = tokio::join!(
        public(&app, "/api/auth/refresh", refresh_body(&session)),
        public(&app, "/api/auth/refresh", refresh_body(&session))
    );
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200), "{:?} {:?}", a.body, b.body);
    // A tab that refreshed a moment late still gets in; each tab goes on with its own token.
    let late = public(&app, "/api/auth/refresh", refresh_body(&session)).await;
    assert_eq!(late.status, 200);
    for tab in [a.body, b.body, late.body] {
        let next = public(&app, "/api/auth/refresh", refresh_body(&tab)).await;
        assert_eq!(next.status, 200, "{:?}", next.body);
        assert_eq!(app.get("/api/auth/me", next.body["access_token"].as_str().unwrap()).await.status, 200);
    }
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = keel_tests::app().await;
    let mail = email();
    let tab = sign_up(&app, &mail, "Acme").await;
    let laptop = login(&app, &mail, "Correct-Horse-7").await.body;
    let token = tab["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong = app.post("/api/auth/password", token, change("Wrong-Horse-7", "New-Horse-8!")).await;
    assert_eq!((wrong.status.as_u16(), wrong.error_fields()), (422, vec!["current_password".to_string()]));
    let weak = app.post("/api/auth/password", token, change("Correct-Horse-7", "weak")).await;
    assert_eq!((weak.status.as_u16(), weak.error_fields()), (400, vec!["new_password".to_string()]));
    let changed = app.post("/api/auth/password", token, change("Correct-Horse-7", "New-Horse-8!")).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.header("cache-control"), Some("no-store"));
    // This tab goes on with the new session; every earlier token, here or elsewhere, is void.
    assert_eq!(app.get("/api/auth/me", changed.body["access_token"].as_str().unwrap()).await.status, 200);
    for old in [&tab, &laptop] {
        assert_eq!(app.get("/api/auth/me", old["access_token"].as_str().unwrap()).await.status, 401);
        assert_eq!(public(&app, "/api/auth/refresh", refresh_body(old)).await.status, 401);
    }
    assert_eq!(login(&app, &mail, "Correct-Horse-7").await.status, 401);
    assert_eq!(login(&app, &mail, "New-Horse-8!").await.status, 200);
    let audit = app.get("/api/audit?entity_type=user", changed.body["access_token"].as_str().unwrap()).await;
    assert!(audit.body.to_string().contains("user.password_change"));
    assert!(!audit.body.to_string().contains("New-Horse"));
    // Another company's user cannot change it: the token names the user, nothing else does.
    let other = app.tenant().await;
    let r = app.post("/api/auth/password", &other.admin(), change("New-Horse-8!", "Third-Horse-9!")).await;
    assert_ne!(r.status, 200);
    assert_eq!(login(&app, &mail, "New-Horse-8!").await.status, 200);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_ends_every_session_and_lifts_the_lock() {
    let app = keel_tests::app().await;
    let mail = email();
    let first = sign_up(&app, &mail, "Acme").await;
    // The owner forgot the password and locked themselves out trying.
    for _ in 0..5 {
        assert_eq!(login(&app, &mail, "Forgotten-Horse-1").await.status, 401);
    }
    assert_eq!(login(&app, &mail, "Correct-Horse-7").await.status, 429);

    let unknown = email();
    let asked = public(&app, "/api/auth/password-reset", json!({"email": mail})).await;
    let nobody = public(&app, "/api/auth/password-reset", json!({"email": unknown})).await;
    assert_eq!((asked.status.as_u16(), nobody.status.as_u16()), (202, 202));
    assert_eq!(asked.body["expires_in"], nobody.body["expires_in"], "the same answer for unknown emails");
    assert!(mailbox::to(&unknown).await.is_empty());
    let token = mailbox::latest_token(&mail, "reset-password").await;
    let weak = public(&app, "/api/auth/password-reset/confirm", json!({"token": token, "new_password": "weak"})).await;
    assert_eq!(weak.error_fields(), ["new_password"]);
    let reset =
        public(&app, "/api/auth/password-reset/confirm", json!({"token": token, "new_password": "Fresh-Horse-9!"}))
            .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    assert_eq!(reset.body["company_id"], first["company_id"]);
    assert_eq!(app.get("/api/auth/me", first["access_token"].as_str().unwrap()).await.status, 401);
    assert_eq!(public(&app, "/api/auth/refresh", refresh_body(&first)).await.status, 401);
    assert_eq!(app.get("/api/auth/me", reset.body["access_token"].as_str().unwrap()).await.status, 200);
    let again =
        public(&app, "/api/auth/password-reset/confirm", json!({"token": token, "new_password": "Other-Horse-9!"}))
            .await;
    assert_eq!((again.status.as_u16(), again.error_fields()), (422, vec!["token".to_string()]), "single use");
    assert_eq!(login(&app, &mail, "Fresh-Horse-9!").await.status, 200, "the lock lifted with the reset");
    assert_eq!(login(&app, &mail, "Correct-Horse-7").await.status, 401);

    // A link asked for before the latest password change is void, and past the hourly mail limit a
    // request is answered alike but sends nothing (the links already sent keep working).
    let stranger = other_address(&app);
    for _ in 0..3 {
        assert_eq!(public(&stranger, "/api/auth/password-reset", json!({"email": mail})).await.status, 202);
    }
    let links = mailbox::tokens(&mail, "reset-password").await;
    assert_eq!(links.len(), 3, "the owner's request and two of the stranger's were mailed");
    let fresh =
        public(&app, "/api/auth/password-reset/confirm", json!({"token": links[2], "new_password": "Third-Horse-9!"}))
            .await;
    assert_eq!(fresh.status, 200, "the owner uses a link a stranger had sent: {:?}", fresh.body);
    let stale =
        public(&app, "/api/auth/password-reset/confirm", json!({"token": links[1], "new_password": "Stale-Horse-9!"}))
            .await;
    assert_eq!((stale.status.as_u16(), stale.error_fields()), (422, vec!["token".to_string()]));
    assert_eq!(login(&app, &mail, "Stale-Horse-9!").await.status, 401);
    assert_eq!(login(&app, &mail, "Third-Horse-9!").await.status, 200);
}

#[tokio::test]
async fn a_company_choice_dies_with_a_password_change() {
    let app = keel_tests::app().await;
    let mail = email();
    let first = sign_up(&app, &mail, "Acme").await;
    sign_up(&app, &mail, "Acme Labs").await;
    // Someone who knew the old password got as far as the company choice ...
    let choice = login(&app, &mail, "Correct-Horse-7").await.body["choice_token"].clone();
    // ... and the owner changes it.
    let change = json!({"current_password": "Correct-Horse-7", "new_password": "New-Horse-8!"});
    assert_eq!(app.post("/api/auth/password", first["access_token"].as_str().unwrap(), change).await.status, 200);
    let late =
        public(&app, "/api/auth/login/choose", json!({"choice_token": choice, "company_id": first["company_id"]}))
            .await;
    assert_eq!(late.status, 401, "{:?}", late.body);
}

/// Uses the invitation mailed to `email`: the password is chosen, the person signed in. Answers
/// the access token.
async fn accept_invitation(app: &TestApp, email: &str, password: &str) -> String {
    assert_eq!(login(app, email, password).await.status, 401, "no sign-in before the invitation is accepted");
    let token = mailbox::latest_token(email, "accept-invitation").await;
    let r = public(app, "/api/auth/password-reset/confirm", json!({"token": token, "new_password": password})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_added_user_chooses_their_own_password_through_the_invitation() {
    let app = keel_tests::app().await;
    let admin_email = email();
    let session = sign_up(&app, &admin_email, "Acme").await;
    let admin = session["access_token"].as_str().unwrap();
    let users = format!("/api/companies/{}/users", session["company_id"].as_str().unwrap());
    let invited = email();
    let with_password =
        app.post(&users, admin, json!({"email": invited, "full_name": "Rui", "password": "Chosen-By-Admin-1"})).await;
    assert_eq!(with_password.status, 400, "nobody chooses another person's password");
    let added = app.post(&users, admin, json!({"email": invited, "full_name": "Rui <b>Costa</b>"})).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let letters = mailbox::to(&invited).await;
    assert_eq!(letters.len(), 1);
    assert!(letters[0].subject.contains("Acme"), "{}", letters[0].subject);
    assert!(letters[0].body.contains("Rui &lt;b&gt;Costa&lt;/b&gt;"), "names are escaped in mail: {}", letters[0].body);
    let user_id = added.body["user_id"].as_str().unwrap();
    let resend = format!("{users}/{user_id}/invitation");
    let again = app.call(Method::POST, &resend, Some(admin), None, &[]).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(mailbox::to(&invited).await.len(), 2);
    // Resends are the company's own, bounded mail.
    for expected in [202, 202, 429] {
        assert_eq!(app.call(Method::POST, &resend, Some(admin), None, &[]).await.status, expected);
    }
    // A role change before acceptance keeps the invitation working, in the new role.
    assert_eq!(app.patch(&format!("{users}/{user_id}"), admin, json!({"role": "manager"})).await.status, 200);
    let rep = accept_invitation(&app, &invited, "Another-Pass-9").await;
    let accepted = app.call(Method::POST, &resend, Some(admin), None, &[]).await;
    assert_eq!((accepted.status.as_u16(), accepted.error_fields()), (422, vec!["user_id".to_string()]));
    let me = app.get("/api/auth/me", &rep).await;
    assert_eq!((me.body["role"].as_str(), me.body["company_name"].as_str()), (Some("manager"), Some("Acme")));
    let listed = app.get(&users, admin).await.body;
    let rui = listed["items"].as_array().unwrap().iter().find(|u| u["email"] == invited.as_str()).unwrap().clone();
    assert_eq!(rui["invitation_pending"], false);
    let token = mailbox::latest_token(&invited, "accept-invitation").await;
    let again =
        public(&app, "/api/auth/password-reset/confirm", json!({"token": token, "new_password": "Other-Pass-9!"}))
            .await;
    assert_eq!(again.status, 422, "an invitation is used once");
    let audit = app.get("/api/audit?entity_type=user", admin).await.body.to_string();
    assert!(audit.contains("user.accept_invitation"), "{audit}");

    // An invited administrator counts as one only once they have accepted: until then the company's
    // only administrator who can sign in cannot step down.
    let second = email();
    let invited_admin = app.post(&users, admin, json!({"email": second, "full_name": "Ines", "role": "admin"})).await;
    assert_eq!(invited_admin.status, 201, "{:?}", invited_admin.body);
    let me_path = format!("{users}/{}", session["user_id"].as_str().unwrap());
    let step_down = app.patch(&me_path, admin, json!({"role": "manager"})).await;
    assert_eq!((step_down.status.as_u16(), step_down.error_fields()), (422, vec!["role".to_string()]));
    accept_invitation(&app, &second, "Another-Pass-9").await;
    assert_eq!(app.patch(&me_path, admin, json!({"role": "manager"})).await.status, 200);
}

#[tokio::test]
async fn administrators_manage_users_and_keep_at_least_one_admin() {
    let app = keel_tests::app().await;
    let session = sign_up(&app, &email(), "Acme").await;
    let (company, admin) =
        (session["company_id"].as_str().unwrap().to_string(), session["access_token"].as_str().unwrap().to_string());
    let users = format!("/api/companies/{company}/users");
    let rep_email = email();
    let added =
        app.post(&users, &admin, json!({"email": rep_email, "full_name": "Rui Costa", "role": "sales_rep"})).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert!(added.body.get("password_hash").is_none());
    assert_eq!(added.body["invitation_pending"], true);
    let rep_id = added.body["user_id"].as_str().unwrap().to_string();
    let again = app.post(&users, &admin, json!({"email": rep_email, "full_name": "Rui"})).await;
    assert_eq!(again.status, 409);
    let rep = accept_invitation(&app, &rep_email, "Another-Pass-9").await;
    assert_eq!(app.get(&users, &rep).await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.post(&users, &rep, json!({"email": email(), "full_name": "X"})).await.status, 403);

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
    let t = app.post(&users, &rep, json!({"email": third, "full_name": "Tom", "role": "viewer"})).await;
    assert_eq!(t.status, 201, "rep is an admin now");
    accept_invitation(&app, &third, "Another-Pass-9").await;
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
    let kim = email();
    let body = json!({"email": kim, "full_name": "Kim", "role": "sales_rep"});
    let key = [("idempotency-key", "invite-kim")];
    let first = app.call(Method::POST, &t.path("/users"), Some(&t.admin()), Some(body.clone()), &key).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = app.call(Method::POST, &t.path("/users"), Some(&t.admin()), Some(body.clone()), &key).await;
    assert_eq!(again.status, 201, "a replay answers the first response: {:?}", again.body);
    assert_eq!(again.body["user_id"], first.body["user_id"]);
    assert_eq!(mailbox::to(&kim).await.len(), 1, "one invitation");
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
    let kims = users.body["items"].as_array().unwrap().iter().filter(|u| u["email"] == kim.as_str()).count();
    assert_eq!(kims, 1);
}

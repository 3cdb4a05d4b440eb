//! Deals: creation on an account, edits with versions, stage rules and terminal stages, races,
//! pipelines whose occupied stages cannot be removed, and the rollups (board totals, forecast now
//! and as of a past day, what moved, trends) against a direct computation from the deals.

use std::collections::BTreeMap;

use axum::http::Method;
use keel_http::Role;
use keel_testkit::{Tenant, TestApp, TestResponse};
use keel_tests::eventually;
use serde_json::{json, Value};

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> TestResponse {
    app.call(Method::PUT, path, Some(token), Some(body), &[]).await
}

async fn account(app: &TestApp, t: &Tenant, name: &str) -> String {
    let r = app.post(&t.path("/customers"), &t.admin(), json!({"name": name})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn deal_body(account_id: &str, amount: i64, close_in_days: i64) -> Value {
    json!({
        "name": format!("Deal {amount}"),
        "account_id": account_id,
        "amount": {"value_minor": amount, "currency": "EUR"},
        "close_date": (today() + chrono::Duration::days(close_in_days)).to_string(),
    })
}

async fn create(app: &TestApp, t: &Tenant, body: Value) -> Value {
    let r = app.post(&t.path("/deals"), &t.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn move_to(app: &TestApp, t: &Tenant, deal: &Value, stage: &str, reason: Option<&str>) -> TestResponse {
    let path = t.path(&format!("/deals/{}/move-stage", deal["id"].as_str().unwrap()));
    let mut body = json!({"stage": stage, "version": deal["version"]});
    if let Some(r) = reason {
        body["lost_reason"] = json!(r);
    }
    put(app, &path, &t.admin(), body).await
}

#[tokio::test]
async fn a_deal_is_created_on_an_account_edited_with_versions_and_archived_by_managers() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let other = app.tenant().await;
    let acct = account(&app, &t, "Globex").await;
    let contact = app
        .post(
            &t.path("/contacts"),
            &t.admin(),
            json!({"account_id": acct, "first_name": "Hank", "last_name": "Scorpio"}),
        )
        .await;
    let contact_id = contact.body["id"].as_str().unwrap().to_string();
    let elsewhere = account(&app, &t, "Initech").await;

    let mut body = deal_body(&acct, 5_000_000, 30);
    body["contacts"] = json!([{"contact_id": contact_id, "primary": true}]);
    let deal = create(&app, &t, body).await;
    assert_eq!(deal["stage"], "prospecting");
    assert_eq!((deal["probability"].as_u64(), deal["forecast_category"].as_str()), (Some(10), Some("pipeline")));
    let id = deal["id"].as_str().unwrap();
    let path = t.path(&format!("/deals/{id}"));
    let got = app.get(&path, &t.admin()).await;
    assert_eq!((got.status.as_u16(), got.body["name"].as_str()), (200, Some("Deal 5000000")));
    let overview = app.get(&t.path(&format!("/customers/{acct}")), &t.admin()).await;
    assert_eq!(overview.body["open_opportunities"], 1, "the account counts its open deal");

    // Bad input: a clear problem naming each field, nothing written.
    let before = keel_tests::outbox(&app, &t).await.len();
    let bad = app
        .post(
            &t.path("/deals"),
            &t.admin(),
            json!({"name": "", "account_id": acct, "amount": {"value_minor": -1, "currency": "eur"},
                "close_date": "31/12/2026", "stage": "nowhere", "forecast_category": "closed"}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["amount.currency", "amount.value_minor", "close_date", "forecast_category", "name", "stage"]);
    let unknown = app
        .post(
            &t.path("/deals"),
            &t.admin(),
            json!({"name": "x", "account_id": acct, "close_date": "2027-01-01", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    let mut foreign_contact = deal_body(&elsewhere, 1, 10);
    foreign_contact["contacts"] = json!([{"contact_id": contact_id, "primary": true}]);
    let r = app.post(&t.path("/deals"), &t.admin(), foreign_contact).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["contacts[0].contact_id".to_string()]));
    let closed_start = app
        .post(
            &t.path("/deals"),
            &t.admin(),
            json!({"name": "x", "account_id": acct, "close_date": "2027-01-01", "stage": "closed_won"}),
        )
        .await;
    assert_eq!(closed_start.status, 400);
    let no_account = app.post(&t.path("/deals"), &t.admin(), deal_body("01JCNOSUCHACCOUNT000000000", 1, 1)).await;
    assert_eq!((no_account.status.as_u16(), no_account.error_fields()), (422, vec!["account_id".to_string()]));
    let mut made_up = deal_body(&acct, 1, 10);
    made_up["amount"]["currency"] = json!("ZZZ");
    let r = app.post(&t.path("/deals"), &t.admin(), made_up).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["amount.currency".to_string()]));
    let mut from_nowhere = deal_body(&acct, 1, 10);
    from_nowhere["source_lead_id"] = json!(acct); // an id, but no lead's
    let r = app.post(&t.path("/deals"), &t.admin(), from_nowhere).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["source_lead_id".to_string()]));
    assert_eq!(keel_tests::outbox(&app, &t).await.len(), before, "refused input wrote nothing");
    let listed = app.get(&t.path("/deals?pipeline_id=no_such_pipeline"), &t.admin()).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(0), "the pipeline filters without a stage");
    let listed = app.get(&t.path("/deals?pipeline_id=default"), &t.admin()).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));

    // Edits: versions, overrides between open categories only.
    let r = app
        .patch(
            &path,
            &t.admin(),
            json!({"version": 1, "forecast_category": "commit", "next_step": "Send the proposal"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.body["version"].as_u64()), (200, Some(2)), "{:?}", r.body);
    let stale = app.patch(&path, &t.admin(), json!({"version": 1, "name": "Renamed"})).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["current_version"], 2, "{:?}", stale.body);
    let closed = app.patch(&path, &t.admin(), json!({"version": 2, "forecast_category": "closed"})).await;
    assert_eq!(closed.status, 400);

    // Roles: a viewer reads; a sales rep may not change someone else's deal; nor archive it.
    let viewer = app.user_token(&t, "viewer-1", Role::Viewer).await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    assert_eq!(app.get(&path, &viewer).await.status, 200);
    assert_eq!(app.patch(&path, &viewer, json!({"version": 2, "name": "x"})).await.status, 403);
    assert_eq!(app.patch(&path, &rep, json!({"version": 2, "name": "x"})).await.status, 403);
    assert_eq!(
        put(&app, &t.path(&format!("/deals/{id}/move-stage")), &rep, json!({"stage": "proposal", "version": 2}))
            .await
            .status,
        403
    );
    assert_eq!(app.delete(&path, &rep).await.status, 403);
    let own = app.post(&t.path("/deals"), &rep, deal_body(&acct, 1_000, 10)).await;
    assert_eq!((own.status.as_u16(), own.body["owner_id"].as_str()), (201, Some("rep-1")));

    // Another company: nothing there, nothing changed.
    for r in [
        app.get(&path, &other.admin()).await,
        app.patch(&path, &other.admin(), json!({"version": 2, "name": "theirs"})).await,
        app.delete(&path, &other.admin()).await,
        put(
            &app,
            &t.path(&format!("/deals/{id}/move-stage")),
            &other.admin(),
            json!({"stage": "proposal", "version": 2}),
        )
        .await,
    ] {
        assert_eq!(r.status, 404, "{:?}", r.body);
    }
    let theirs = app.get(&other.path(&format!("/deals/{id}")), &other.admin()).await;
    assert_eq!(theirs.status, 404);
    let r = app.post(&other.path("/deals"), &other.admin(), deal_body(&acct, 1, 1)).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["account_id".to_string()]), "A's account is not B's");
    assert_eq!(app.get(&path, &t.admin()).await.body["version"], 2);

    // Lists and filters.
    let list = |q: &str| {
        let app = &app;
        let t = &t;
        let q = q.to_string();
        async move { app.get(&t.path(&format!("/deals?{q}")), &t.admin()).await }
    };
    assert_eq!(list("").await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(list("owner_id=rep-1").await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list("forecast_category=commit").await.body["items"][0]["id"], id);
    assert_eq!(list("stage=prospecting").await.body["items"].as_array().unwrap().len(), 2);
    let soon = (today() + chrono::Duration::days(15)).to_string();
    assert_eq!(list(&format!("close_to={soon}")).await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list(&format!("account_id={acct}")).await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(list("forecast_category=maybe").await.status, 400);
    assert_eq!(list("close_from=2027-01-02&close_to=2027-01-01").await.status, 400);

    // Archive: managers; the deal leaves lists and its account's open count, and stays readable.
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let archived = app.delete(&path, &manager).await;
    assert_eq!((archived.status.as_u16(), archived.body["archived_at"].is_string()), (200, true));
    assert_eq!(app.delete(&path, &manager).await.status, 200, "archiving again answers it as it is");
    assert_eq!(app.get(&path, &viewer).await.status, 200, "still readable");
    assert_eq!(list("").await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list("archived=true").await.body["items"][0]["id"], id);
    assert_eq!(app.patch(&path, &t.admin(), json!({"version": 3, "name": "again"})).await.status, 422);
    let account_now = app.get(&t.path(&format!("/customers/{acct}")), &t.admin()).await;
    assert_eq!(account_now.body["open_opportunities"], 1, "only the rep's deal is open");
    let audit = app.get("/api/audit?limit=200", &t.admin()).await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(actions.contains(&"deal.create") && actions.contains(&"deal.archive"), "{actions:?}");
}

#[tokio::test]
async fn stages_follow_the_pipeline_and_won_and_lost_are_final() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Umbrella").await;
    let deal = create(&app, &t, deal_body(&acct, 2_000_000, 60)).await;
    let r = move_to(&app, &t, &deal, "proposal", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["probability"].as_u64(), r.body["forecast_category"].as_str()), (Some(60), Some("best_case")));
    let again = move_to(&app, &t, &deal, "proposal", None).await;
    assert_eq!(
        (again.status.as_u16(), again.body["version"].as_u64()),
        (200, Some(2)),
        "a retried move answers the deal"
    );
    let stale = move_to(&app, &t, &deal, "negotiation", None).await;
    assert_eq!((stale.status.as_u16(), stale.body["current_version"].as_u64()), (409, Some(2)));
    let deal = r.body;
    let nowhere = move_to(&app, &t, &deal, "contract", None).await;
    assert_eq!((nowhere.status.as_u16(), nowhere.error_fields()), (422, vec!["stage".to_string()]));
    let no_reason = move_to(&app, &t, &deal, "closed_lost", None).await;
    assert_eq!((no_reason.status.as_u16(), no_reason.error_fields()), (422, vec!["lost_reason".to_string()]));
    let lost = move_to(&app, &t, &deal, "closed_lost", Some("Went with a competitor")).await;
    assert_eq!(lost.status, 200, "{:?}", lost.body);
    assert_eq!(
        (lost.body["status"].as_str(), lost.body["forecast_category"].as_str()),
        (Some("lost"), Some("omitted"))
    );
    assert_eq!(lost.body["close_date"], today().to_string(), "a closed deal closes today");
    let reopen = move_to(&app, &t, &lost.body, "proposal", None).await;
    assert_eq!(reopen.status, 422, "lost is final");
    let amount = app
        .patch(
            &t.path(&format!("/deals/{}", deal["id"].as_str().unwrap())),
            &t.admin(),
            json!({"version": 3, "amount": {"value_minor": 1, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(amount.status, 422, "a closed deal keeps its amount");
    let history = app.get(&t.path(&format!("/deals/{}/stage-history", deal["id"].as_str().unwrap())), &t.admin()).await;
    let stages: Vec<&str> =
        history.body["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["prospecting", "proposal", "closed_lost"]);
    assert!(history.body["stages"][0]["left_at"].is_string() && history.body["stages"][2]["left_at"].is_null());

    // Won: DealWon makes the account a customer; the forecast shows the closed amount.
    let won_deal = create(&app, &t, deal_body(&acct, 750_000, 10)).await;
    let won = move_to(&app, &t, &won_deal, "closed_won", None).await;
    assert_eq!((won.status.as_u16(), won.body["forecast_category"].as_str()), (200, Some("closed")));
    let events: Vec<String> =
        keel_tests::outbox(&app, &t).await.iter().map(|e| e["detail_type"].as_str().unwrap().to_string()).collect();
    assert_eq!(events.iter().filter(|e| *e == "DealWon").count(), 1);
    let acct_path = t.path(&format!("/customers/{acct}"));
    eventually("the won deal makes a customer", || async {
        let a = app.get(&acct_path, &t.admin()).await.body;
        a["lifecycle"] == "customer" && a["won_opportunities"] == 1 && a["open_opportunities"] == 0
    })
    .await;
    let period = keel_core::forecast::quarter(today());
    let forecast_path = t.path(&format!("/deals/forecast?period={period}"));
    eventually("the forecast counts the won deal", || async {
        let f = app.get(&forecast_path, &t.admin()).await.body;
        f["categories"][3]["category"] == "closed" && f["categories"][3]["amounts"][0]["amount_minor"] == 750_000
    })
    .await;
}

#[tokio::test]
async fn two_moves_of_one_deal_at_once_one_wins_the_other_is_stale() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Stark").await;
    for round in 0..3 {
        let deal = create(&app, &t, deal_body(&acct, 100_000 + round, 20)).await;
        let (a, b) =
            tokio::join!(move_to(&app, &t, &deal, "proposal", None), move_to(&app, &t, &deal, "negotiation", None));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{:?} / {:?}", a.body, b.body);
        let now = app.get(&t.path(&format!("/deals/{}", deal["id"].as_str().unwrap())), &t.admin()).await.body;
        assert_eq!(now["version"], 2, "exactly one move applied");
        let history =
            app.get(&t.path(&format!("/deals/{}/stage-history", deal["id"].as_str().unwrap())), &t.admin()).await;
        assert_eq!(history.body["stages"].as_array().unwrap().len(), 2, "one visit recorded");
    }
    let board = app.get(&t.path("/deals/pipeline-view"), &t.admin()).await;
    let prospecting = &board.body["columns"][0];
    assert_eq!(prospecting["cards"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_stage_that_holds_deals_cannot_be_removed_even_by_a_race() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Wayne").await;
    let pipelines = app.get(&t.path("/deals/pipelines"), &t.admin()).await;
    let default = pipelines.body["items"][0].clone();
    assert_eq!((default["id"].as_str(), default["version"].as_u64()), (Some("default"), Some(0)));
    let deal = create(&app, &t, deal_body(&acct, 500, 5)).await;
    let moved = move_to(&app, &t, &deal, "needs_analysis", None).await.body;

    let without = |p: &Value, key: &str| {
        let stages: Vec<Value> = p["stages"].as_array().unwrap().iter().filter(|s| s["key"] != key).cloned().collect();
        json!({"name": p["name"], "stages": stages, "version": p["version"]})
    };
    let path = t.path("/deals/pipelines/default");
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    assert_eq!(
        put(&app, &path, &manager, without(&default, "proposal")).await.status,
        403,
        "administrators edit pipelines"
    );
    let refused = put(&app, &path, &t.admin(), without(&default, "needs_analysis")).await;
    assert_eq!((refused.status.as_u16(), refused.error_fields()), (422, vec!["stages".to_string()]));
    assert!(
        refused.body["errors"][0]["message"].as_str().unwrap().contains("needs_analysis (1)"),
        "{:?}",
        refused.body
    );
    let bad = put(&app, &path, &t.admin(), json!({"name": "x", "stages": [], "version": 0})).await;
    assert_eq!(bad.status, 400);
    let saved = put(&app, &path, &t.admin(), without(&default, "proposal")).await;
    assert_eq!((saved.status.as_u16(), saved.body["version"].as_u64()), (200, Some(1)), "{:?}", saved.body);
    let stale = put(&app, &path, &t.admin(), without(&default, "proposal")).await;
    assert_eq!(stale.status, 409);
    let r = move_to(&app, &t, &moved, "proposal", None).await;
    assert_eq!(r.status, 422, "the stage is gone");

    // A move into a stage and its removal at once: never both.
    for round in 0..4 {
        let current = app.get(&path, &t.admin()).await.body;
        let d = create(&app, &t, deal_body(&acct, 100 + round, 5)).await;
        let admin = t.admin();
        let removal = without(&current, "negotiation");
        let (m, p) = tokio::join!(move_to(&app, &t, &d, "negotiation", None), put(&app, &path, &admin, removal));
        assert!(!(m.status == 200 && p.status == 200), "round {round}: both the move and the removal succeeded");
        if p.status == 200 {
            // Put the stage back for the next round.
            let mut restored = p.body.clone();
            let mut stages = restored["stages"].as_array().unwrap().clone();
            stages.insert(
                stages.len() - 2,
                json!({"key": "negotiation", "label": "Negotiation", "probability": 80,
                "forecast_category": "commit", "status": "open"}),
            );
            restored["stages"] = json!(stages);
            let back = put(
                &app,
                &path,
                &t.admin(),
                json!({"name": restored["name"], "stages": restored["stages"], "version": restored["version"]}),
            )
            .await;
            assert_eq!(back.status, 200, "{:?}", back.body);
        } else {
            let archived = app.delete(&t.path(&format!("/deals/{}", d["id"].as_str().unwrap())), &t.admin()).await;
            assert_eq!(archived.status, 200);
        }
    }
    // A new pipeline of one's own.
    let mut custom = without(&default, "needs_analysis");
    custom["name"] = json!("Renewals");
    let created = app.post(&t.path("/deals/pipelines"), &t.admin(), custom).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let mut body = deal_body(&acct, 900, 9);
    body["pipeline_id"] = created.body["id"].clone();
    body["stage"] = json!("qualification");
    let d = create(&app, &t, body).await;
    assert_eq!(d["pipeline_id"], created.body["id"]);
    // A stage holding a deal cannot become the won one (the deal would be open in a won stage);
    // stages without deals can change between open and won.
    let swap = |p: &Value, open: &str, won: &str| {
        let stages: Vec<Value> = p["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| match s["key"].as_str().unwrap() {
                k if k == open => json!({"key": k, "label": s["label"], "probability": 10,
                    "forecast_category": "pipeline", "status": "open"}),
                k if k == won => json!({"key": k, "label": s["label"], "probability": 100,
                    "forecast_category": "closed", "status": "won"}),
                _ => s.clone(),
            })
            .collect();
        json!({"name": p["name"], "stages": stages, "version": p["version"]})
    };
    let custom_path = t.path(&format!("/deals/pipelines/{}", created.body["id"].as_str().unwrap()));
    let refused = put(&app, &custom_path, &t.admin(), swap(&created.body, "closed_won", "qualification")).await;
    assert_eq!((refused.status.as_u16(), refused.error_fields()), (422, vec!["stages".to_string()]));
    assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("qualification (1)"), "{:?}", refused.body);
    let swapped = put(&app, &custom_path, &t.admin(), swap(&created.body, "closed_won", "prospecting")).await;
    assert_eq!(swapped.status, 200, "{:?}", swapped.body);
}

// ---- The rollups against a direct computation -------------------------------------------------

/// Per category: count, and per currency (amount, weighted amount).
type Categories = BTreeMap<String, (i64, BTreeMap<String, (i64, i64)>)>;

/// What the forecast of `period` should say of `deals` (plain JSON of the API's deals).
fn direct_forecast(deals: &[Value], period: &str) -> Categories {
    let mut out: Categories = BTreeMap::new();
    for d in deals.iter().filter(|d| d["archived_at"].is_null()) {
        let close = chrono::NaiveDate::parse_from_str(d["close_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        use chrono::Datelike;
        if format!("{}-Q{}", close.year(), close.month0() / 3 + 1) != period {
            continue;
        }
        let entry = out.entry(d["forecast_category"].as_str().unwrap().to_string()).or_default();
        entry.0 += 1;
        if let Some(a) = d["amount"].as_object() {
            let cur = entry.1.entry(a["currency"].as_str().unwrap().to_string()).or_default();
            cur.0 += a["value_minor"].as_i64().unwrap();
            cur.1 += a["value_minor"].as_i64().unwrap() * d["probability"].as_i64().unwrap();
        }
    }
    for (_, (_, cur)) in out.iter_mut() {
        for (_, (_, w)) in cur.iter_mut() {
            *w = (*w + 50) / 100;
        }
    }
    out
}

/// The API's categories in the same shape (zero categories left out).
fn reported(categories: &Value) -> Categories {
    categories
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["count"] != 0 || !c["amounts"].as_array().unwrap().is_empty())
        .map(|c| {
            let amounts = c["amounts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["amount_minor"] != 0 || a["weighted_minor"] != 0)
                .map(|a| {
                    (
                        a["currency"].as_str().unwrap().to_string(),
                        (a["amount_minor"].as_i64().unwrap(), a["weighted_minor"].as_i64().unwrap()),
                    )
                })
                .collect();
            (c["category"].as_str().unwrap().to_string(), (c["count"].as_i64().unwrap(), amounts))
        })
        .collect()
}

/// A small deterministic generator (no dependency; seeds make failures reproducible).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const OPEN: [&str; 5] = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation"];

#[tokio::test]
async fn rollups_equal_a_direct_computation_after_random_changes_through_the_api() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let acct = account(&app, &t, "Tyrell").await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut deals: Vec<Value> = Vec::new();
    for step in 0..40 {
        let pick = if deals.is_empty() { 0 } else { rng.below(6) };
        match pick {
            0 | 1 => {
                let mut body = deal_body(&acct, 1_000 + rng.below(90_000) as i64, rng.below(200) as i64 - 20);
                if rng.below(4) == 0 {
                    body["amount"]["currency"] = json!("USD");
                }
                deals.push(create(&app, &t, body).await);
            }
            2 => {
                let i = rng.below(deals.len() as u64) as usize;
                let stage = match rng.below(7) {
                    5 => "closed_won",
                    6 => "closed_lost",
                    n => OPEN[n as usize],
                };
                let r = move_to(&app, &t, &deals[i], stage, Some("price")).await;
                if r.status == 200 {
                    deals[i] = r.body;
                }
            }
            3 | 4 => {
                let i = rng.below(deals.len() as u64) as usize;
                let path = t.path(&format!("/deals/{}", deals[i]["id"].as_str().unwrap()));
                let body = if pick == 3 {
                    json!({"version": deals[i]["version"], "amount": {"value_minor": rng.below(50_000) as i64, "currency": "EUR"}})
                } else {
                    json!({"version": deals[i]["version"], "close_date": (today() + chrono::Duration::days(rng.below(200) as i64 - 20)).to_string()})
                };
                let r = app.patch(&path, &t.admin(), body).await;
                if r.status == 200 {
                    deals[i] = r.body;
                }
            }
            _ => {
                let i = rng.below(deals.len() as u64) as usize;
                let r = app.delete(&t.path(&format!("/deals/{}", deals[i]["id"].as_str().unwrap())), &t.admin()).await;
                assert_eq!(r.status, 200, "step {step}");
                deals[i] = r.body;
            }
        }
    }
    let periods: Vec<String> =
        (0..4).map(|q| keel_core::forecast::quarter(today() + chrono::Duration::days(92 * q - 20))).collect();
    for period in &periods {
        let path = t.path(&format!("/deals/forecast?period={period}"));
        let expect = direct_forecast(&deals, period);
        eventually(&format!("the forecast of {period} matches the deals"), || async {
            reported(&app.get(&path, &t.admin()).await.body["categories"]) == expect
        })
        .await;
    }
    // The board's totals per stage, and its cards.
    let board_path = t.path("/deals/pipeline-view?limit=100");
    eventually("the board's totals match the deals", || async {
        let board = app.get(&board_path, &t.admin()).await.body;
        board["columns"].as_array().unwrap().iter().all(|column| {
            let stage = column["stage"]["key"].as_str().unwrap();
            let live: Vec<&Value> =
                deals.iter().filter(|d| d["archived_at"].is_null() && d["stage"] == stage).collect();
            let eur: i64 = live
                .iter()
                .filter(|d| d["amount"]["currency"] == "EUR")
                .map(|d| d["amount"]["value_minor"].as_i64().unwrap())
                .sum();
            let reported_eur = column["totals"]["amounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["currency"] == "EUR")
                .map_or(0, |a| a["amount_minor"].as_i64().unwrap());
            column["totals"]["count"] == live.len()
                && column["cards"].as_array().unwrap().len() == live.len()
                && reported_eur == eur
        })
    })
    .await;
    // Trends for this month: everything was created and closed now.
    let trends = app.get(&t.path("/deals/trend-analysis?months=1"), &t.admin()).await.body;
    let month = &trends["months"][0];
    let live: Vec<&Value> = deals.iter().filter(|d| d["archived_at"].is_null()).collect();
    assert_eq!(month["created_count"], live.len());
    assert_eq!(month["won_count"], live.iter().filter(|d| d["status"] == "won").count());
    assert_eq!(month["lost_count"], live.iter().filter(|d| d["status"] == "lost").count());
}

/// Deals whose history the test writes itself: events dated in the past, each delivered twice,
/// in a shuffled order, straight to the consumer.
#[tokio::test]
async fn the_forecast_as_of_any_past_day_equals_the_deals_as_they_were_then() {
    use keel_core::forecast::DealFacts;
    use keel_core::opportunity::{ForecastCategory, OpportunityStatus};
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let harness = keel_worker::Harness::new(app.state.db.clone(), keel_deals::DealRollups::on(&app.state.db.table));
    let start: chrono::DateTime<chrono::Utc> =
        (today() - chrono::Duration::days(60)).and_hms_opt(9, 0, 0).unwrap().and_utc();
    let period = keel_core::forecast::quarter(today());
    let stages = [
        ("prospecting", 10, ForecastCategory::Pipeline, OpportunityStatus::Open),
        ("proposal", 60, ForecastCategory::BestCase, OpportunityStatus::Open),
        ("negotiation", 80, ForecastCategory::Commit, OpportunityStatus::Open),
        ("closed_won", 100, ForecastCategory::Closed, OpportunityStatus::Won),
        ("closed_lost", 0, ForecastCategory::Omitted, OpportunityStatus::Lost),
    ];
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    // Each deal's states over time: (at, facts).
    let mut histories: Vec<Vec<(chrono::DateTime<chrono::Utc>, DealFacts)>> = Vec::new();
    let mut events = Vec::new();
    let actor = keel_events::Actor { user_id: "u".into(), role: "admin".into() };
    for n in 0..12 {
        let created = start + chrono::Duration::hours(rng.below(24 * 20) as i64);
        let mut facts = DealFacts {
            name: format!("deal {n}"),
            owner_id: format!("owner-{}", rng.below(3)),
            pipeline_id: "default".into(),
            stage: "prospecting".into(),
            status: OpportunityStatus::Open,
            forecast_category: ForecastCategory::Pipeline,
            probability: 10,
            amount: Some(keel_core::Money { value_minor: 1_000 + rng.below(100_000) as i64, currency: "EUR".into() }),
            close_date: today() - chrono::Duration::days(rng.below(20) as i64),
            created_at: created,
            closed_at: None,
            archived: false,
        };
        let mut at = created;
        let mut history = vec![(at, facts.clone())];
        let mut before: Option<DealFacts> = None;
        let mut version = 1;
        loop {
            let change = keel_events::DealChanged {
                opportunity_id: format!("deal-{n}"),
                account_id: "acct".into(),
                version,
                change: "updated".into(),
                changed: vec![],
                before: before.clone(),
                after: facts.clone(),
            };
            events.push(keel_events::Envelope::new(&t.id, actor.clone(), at, &change));
            if facts.status != OpportunityStatus::Open || facts.archived || rng.below(4) == 0 {
                break;
            }
            before = Some(facts.clone());
            at += chrono::Duration::hours(1 + rng.below(24 * 6) as i64);
            version += 1;
            match rng.below(4) {
                0 => facts.close_date += chrono::Duration::days(rng.below(120) as i64 - 30),
                1 => {
                    facts.amount =
                        Some(keel_core::Money { value_minor: rng.below(200_000) as i64, currency: "EUR".into() })
                }
                2 => facts.archived = rng.below(5) == 0,
                _ => {
                    let (stage, p, cat, status) = stages[rng.below(5) as usize];
                    facts.stage = stage.into();
                    facts.probability = p;
                    facts.forecast_category = cat;
                    facts.status = status;
                    if status != OpportunityStatus::Open {
                        facts.closed_at = Some(at);
                        facts.close_date = at.date_naive();
                    }
                }
            }
            history.push((at, facts.clone()));
        }
        histories.push(history);
    }
    // Every event twice, in a shuffled order.
    let mut deliveries: Vec<&keel_events::Envelope> = events.iter().chain(events.iter()).collect();
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for e in deliveries {
        let outcome = harness.apply(e).await;
        assert!(outcome.acknowledged(), "{outcome:?}");
    }
    let as_json = |f: &DealFacts| {
        json!({"close_date": f.close_date.to_string(), "forecast_category": f.forecast_category, "probability": f.probability,
            "amount": f.amount, "archived_at": if f.archived { json!("yes") } else { Value::Null }})
    };
    for days_back in [0i64, 5, 15, 30, 45, 59, 70] {
        let day = today() - chrono::Duration::days(days_back);
        let end = day.and_hms_opt(23, 59, 59).unwrap().and_utc();
        let then: Vec<Value> = histories
            .iter()
            .filter_map(|h| h.iter().rev().find(|(at, _)| *at <= end).map(|(_, f)| as_json(f)))
            .collect();
        let r = app.get(&t.path(&format!("/deals/forecast?period={period}&as_of={day}")), &t.admin()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(reported(&r.body["categories"]), direct_forecast(&then, &period), "as of {day}");
        // Per owner too: the owners' rows add up to the company's.
        let owners = r.body["owners"].as_array().unwrap();
        let count: i64 =
            owners.iter().flat_map(|o| o["categories"].as_array().unwrap()).map(|c| c["count"].as_i64().unwrap()).sum();
        let total: i64 = r.body["categories"].as_array().unwrap().iter().map(|c| c["count"].as_i64().unwrap()).sum();
        assert_eq!(count, total);
    }
    let now_then: Vec<Value> = histories.iter().map(|h| as_json(&h.last().unwrap().1)).collect();
    let now = app.get(&t.path(&format!("/deals/forecast?period={period}")), &t.admin()).await.body;
    assert_eq!(reported(&now["categories"]), direct_forecast(&now_then, &period));

    // What moved between two days explains the difference between their totals.
    let (from, to) = (today() - chrono::Duration::days(40), today());
    let moves = app
        .get(&t.path(&format!("/deals/forecast/changes?period={period}&from={from}&to={to}&limit=500")), &t.admin())
        .await;
    assert_eq!(moves.status, 200, "{:?}", moves.body);
    let mut sum: BTreeMap<String, i64> = BTreeMap::new();
    for c in moves.body["changes"]["items"].as_array().unwrap() {
        assert!(c["deal_name"].is_string() && c["kind"].is_string());
        for e in c["effect"].as_array().unwrap() {
            *sum.entry(e["category"].as_str().unwrap().to_string()).or_default() += e["count"].as_i64().unwrap();
        }
    }
    let counts = |v: &Value| -> BTreeMap<String, i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| (c["category"].as_str().unwrap().to_string(), c["count"].as_i64().unwrap()))
            .collect()
    };
    let (a, b) = (counts(&moves.body["totals_from"]), counts(&moves.body["totals_to"]));
    for (category, moved) in b.iter() {
        assert_eq!(a[category] + sum.get(category).copied().unwrap_or(0), *moved, "{category}");
    }
    let backwards =
        app.get(&t.path(&format!("/deals/forecast/changes?period={period}&from={to}&to={from}")), &t.admin()).await;
    assert_eq!(backwards.status, 400);
    let same_day =
        app.get(&t.path(&format!("/deals/forecast/changes?period={period}&from={to}&to={to}")), &t.admin()).await;
    assert_eq!((same_day.status.as_u16(), same_day.body["changes"]["items"].as_array().map(Vec::len)), (200, Some(0)));
    assert_eq!(app.get(&t.path("/deals/forecast?period=2026-Q5"), &t.admin()).await.status, 400);
}

#[tokio::test]
async fn quotas_are_set_by_managers_and_attained_by_closed_deals() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let other = app.tenant().await;
    let acct = account(&app, &t, "Cyberdyne").await;
    let period = keel_core::forecast::quarter(today());
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let body =
        json!({"period": period, "owner_id": t.user_id, "amount": {"value_minor": 1_000_000, "currency": "EUR"}});
    assert_eq!(put(&app, &t.path("/deals/quotas"), &rep, body.clone()).await.status, 403);
    assert_eq!(put(&app, &other.path("/deals/quotas"), &other.admin(), body.clone()).await.status, 422, "not B's user");
    let set = put(&app, &t.path("/deals/quotas"), &t.admin(), body.clone()).await;
    assert_eq!((set.status.as_u16(), set.body["version"].as_u64()), (200, Some(1)), "{:?}", set.body);
    assert_eq!(
        put(&app, &t.path("/deals/quotas"), &t.admin(), body.clone()).await.status,
        409,
        "stale without the version"
    );
    let mut bad = body.clone();
    bad["period"] = json!("Q4");
    assert_eq!(put(&app, &t.path("/deals/quotas"), &t.admin(), bad).await.status, 400);
    let deal = create(&app, &t, deal_body(&acct, 250_000, 5)).await;
    assert_eq!(move_to(&app, &t, &deal, "closed_won", None).await.status, 200);
    let path = t.path(&format!("/deals/forecast?period={period}"));
    eventually("quota attainment", || async {
        let f = app.get(&path, &t.admin()).await.body;
        f["quota"][0]["attainment_percent"] == 25.0 && f["owners"][0]["quota"]["closed_minor"] == 250_000
    })
    .await;
    let quotas = app.get(&t.path(&format!("/deals/quotas?period={period}")), &rep).await;
    assert_eq!(quotas.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&other.path(&format!("/deals/quotas?period={period}")), &other.admin()).await.body["items"],
        json!([])
    );
}

#[tokio::test]
async fn a_converted_opportunity_takes_its_stage_from_the_companys_pipeline_and_counts_on_the_board() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let mut pipeline = app.get(&t.path("/deals/pipelines/default"), &t.admin()).await.body;
    pipeline["stages"][1]["probability"] = json!(25);
    let saved = put(
        &app,
        &t.path("/deals/pipelines/default"),
        &t.admin(),
        json!({"name": pipeline["name"], "stages": pipeline["stages"], "version": 0}),
    )
    .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let lead = keel_tests::capture(&app, &t, keel_tests::lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();
    let bant = json!({"bant": {"budget": 20, "authority": 20, "need": 20, "timeline": 20}});
    assert_eq!(app.post(&t.path(&format!("/leads/{id}/qualify")), &t.admin(), bant).await.status, 200);
    let body = json!({"opportunity": {"amount": {"value_minor": 300_000, "currency": "EUR"}}});
    let converted = app.post(&t.path(&format!("/leads/{id}/convert")), &t.admin(), body).await;
    assert_eq!(converted.status, 201, "{:?}", converted.body);
    let deal_id = converted.body["opportunity_id"].as_str().unwrap();
    let deal = app.get(&t.path(&format!("/deals/{deal_id}")), &t.admin()).await.body;
    assert_eq!((deal["stage"].as_str(), deal["probability"].as_u64()), (Some("qualification"), Some(25)));
    let board = t.path("/deals/pipeline-view");
    eventually("the board counts the converted opportunity", || async {
        let b = app.get(&board, &t.admin()).await.body;
        b["columns"][1]["totals"]["count"] == 1 && b["columns"][1]["totals"]["amounts"][0]["weighted_minor"] == 75_000
    })
    .await;
    // Its stage holds a deal now: it cannot be removed.
    let current = app.get(&t.path("/deals/pipelines/default"), &t.admin()).await.body;
    let stages: Vec<Value> =
        current["stages"].as_array().unwrap().iter().filter(|s| s["key"] != "qualification").cloned().collect();
    let r = put(
        &app,
        &t.path("/deals/pipelines/default"),
        &t.admin(),
        json!({"name": current["name"], "stages": stages, "version": current["version"]}),
    )
    .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
}

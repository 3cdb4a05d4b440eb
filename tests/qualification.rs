//! Qualification and account-first conversion through the deployed routes: thresholds, the
//! other outcomes, risk, conversion refused with its reasons, one transaction, ten at once, into
//! an existing account, and the auto-convert policy through the bus.

use std::time::{Duration, Instant};

use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{capture, lead_body, outbox, partition};
use serde_json::{json, Value};

fn bant(b: u8, a: u8, n: u8, t: u8) -> Value {
    json!({"bant": {"budget": b, "authority": a, "need": n, "timeline": t}})
}

async fn qualify(app: &TestApp, t: &Tenant, lead: &str, body: Value) -> keel_testkit::TestResponse {
    app.post(&t.path(&format!("/leads/{lead}/qualify")), &t.admin(), body).await
}

/// A captured lead, qualified (BANT 20/20/20/15).
async fn qualified_lead(app: &TestApp, t: &Tenant, n: u32) -> String {
    let lead = capture(app, t, lead_body(n)).await;
    let id = lead["id"].as_str().unwrap().to_string();
    let r = qualify(app, t, &id, bant(20, 20, 20, 15)).await;
    assert_eq!((r.status.as_u16(), r.body["outcome"].as_str()), (200, Some("qualified")), "{:?}", r.body);
    id
}

async fn account_count(app: &TestApp, t: &Tenant) -> usize {
    let all = app.get(&t.path("/customers?lifecycle=prospect&limit=200"), &t.admin()).await;
    all.body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_thresholds_decide_and_the_assessment_is_recorded() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();

    // 65 < 70: stays in nurturing.
    let r = qualify(&app, &t, id, bant(20, 20, 20, 5)).await;
    assert_eq!((r.body["score"].as_u64(), r.body["status"].as_str()), (Some(65), Some("nurturing")), "{:?}", r.body);
    // 75, but an item at 0: still nurturing, and the condition says which.
    let r = qualify(&app, &t, id, bant(25, 25, 25, 0)).await;
    assert_eq!(r.body["status"], "nurturing");
    let zero = r.body["conditions"].as_array().unwrap().iter().find(|c| c["condition"] == "bant_no_zero_item").unwrap();
    assert_eq!((zero["met"].as_bool(), zero["why"].as_str()), (Some(false), Some("timeline scored 0")));
    // 75 with every item above 0: qualified.
    let mut body = bant(20, 20, 20, 15);
    body["evidence"] = json!({"budget": "Approved for Q1", "authority": "CFO signs"});
    let r = qualify(&app, &t, id, body).await;
    assert_eq!((r.body["outcome"].as_str(), r.body["status"].as_str()), (Some("qualified"), Some("qualified")));

    let q = app.get(&t.path(&format!("/leads/{id}/qualification")), &t.admin()).await;
    assert_eq!(q.status, 200, "{:?}", q.body);
    assert_eq!(q.body["current"]["score"], 75);
    assert_eq!(q.body["current"]["evidence"]["budget"], "Approved for Q1");
    assert_eq!(q.body["current"]["assessed_by"], t.user_id.as_str(), "who");
    assert!(q.body["current"]["assessed_at"].is_string(), "when");
    assert_eq!(q.body["history"].as_array().unwrap().len(), 3, "every assessment is kept, newest first");
    assert_eq!(q.body["history"][2]["score"], 65);
    assert_eq!(q.body["eligible"], true);
    assert!(q.body["conversion_eligibility"].as_array().unwrap().iter().all(|c| c["met"] == true));
    let lead = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await;
    assert_eq!(
        (lead.body["status"].as_str(), lead.body["qualification_score"].as_u64()),
        (Some("qualified"), Some(75))
    );
    let events: Vec<Value> = outbox(&app, &t).await;
    assert_eq!(events.iter().filter(|e| e["detail_type"] == "LeadQualified").count(), 1, "once, when it qualified");
}

#[tokio::test]
async fn bad_assessments_are_named_and_change_nothing() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();
    let cases = [
        (json!({}), vec!["bant"]),
        (bant(26, 0, 3, 3), vec!["bant.budget"]),
        (json!({"bant": {"budget": -1, "authority": 5}}), vec!["bant.budget", "bant.need", "bant.timeline"]),
        (json!({"evidence": {"budget": "x"}, "meddicc": {}}), vec!["evidence"]),
        (
            json!({"meddicc": {"champion": {"status": "confirmed", "notes": "a\u{202E}b"}}}),
            vec!["meddicc.champion.notes"],
        ),
    ];
    for (body, fields) in cases {
        let r = qualify(&app, &t, id, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.error_fields()),
            (400, fields.iter().map(|f| f.to_string()).collect()),
            "{body}"
        );
    }
    for body in
        [json!({"bant": {"budget": "lots"}}), json!({"meddicc": {"champion": {"status": "maybe"}}}), json!({"x": 1})]
    {
        assert_eq!(qualify(&app, &t, id, body.clone()).await.status, 400, "{body}");
    }
    // Text after the JSON document (or a second document) is refused, not ignored.
    let path = t.path(&format!("/leads/{id}/qualify"));
    for raw in [format!("{} garbage", bant(20, 20, 20, 20)), format!("{}{{\"x\":1}}", bant(20, 20, 20, 20))] {
        let request = axum::http::Request::post(&path)
            .header("authorization", format!("Bearer {}", t.admin()))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(raw.clone()))
            .unwrap();
        let r = app.send(request).await;
        assert_eq!((r.status.as_u16(), r.body["type"].as_str()), (400, Some("/api/problems/malformed")), "{raw}");
    }
    let recycle = t.path(&format!("/leads/{id}/recycle"));
    let r = app.post(&recycle, &t.admin(), json!({"reason": "", "revisit_on": "2020-01-01"})).await;
    assert_eq!(r.error_fields(), ["reason", "revisit_on"]);
    let r = app.post(&recycle, &t.admin(), json!({"reason": "later", "revisit_on": "soon"})).await;
    assert_eq!(r.error_fields(), ["revisit_on"]);
    let policy = t.path("/leads/qualification-policy");
    let r = app
        .call(
            axum::http::Method::PUT,
            &policy,
            Some(&t.admin()),
            Some(json!({"version": 0, "bant_min_total": 0, "bant_no_zero_item": true, "meddicc_required": ["luck"],
                "disqualify_reasons": [], "conversion_trigger": "off"})),
            &[],
        )
        .await;
    assert_eq!(r.error_fields(), ["bant_min_total", "meddicc_required", "disqualify_reasons"]);
    let q = app.get(&t.path(&format!("/leads/{id}/qualification")), &t.admin()).await;
    assert_eq!((q.body["history"].as_array().unwrap().len(), q.body["status"].as_str()), (0, Some("new")));
    assert_eq!(app.get(&policy, &t.admin()).await.body["version"], 0, "the policy is still the default");
}

#[tokio::test]
async fn a_company_sets_its_own_thresholds() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let policy = t.path("/leads/qualification-policy");
    let put = |version: u64| {
        json!({"version": version, "bant_min_total": 50, "bant_no_zero_item": false, "meddicc_required": ["champion"],
            "disqualify_reasons": ["no budget", "went quiet"], "conversion_trigger": "off"})
    };
    let r = app.call(axum::http::Method::PUT, &policy, Some(&t.admin()), Some(put(0)), &[]).await;
    assert_eq!((r.status.as_u16(), r.body["version"].as_u64()), (200, Some(1)), "{:?}", r.body);
    let stale = app.call(axum::http::Method::PUT, &policy, Some(&t.admin()), Some(put(0)), &[]).await;
    assert_eq!((stale.status.as_u16(), stale.body["current_version"].as_u64()), (409, Some(1)));

    let lead = capture(&app, &t, lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();
    let r = qualify(&app, &t, id, bant(20, 15, 15, 0)).await;
    assert_eq!(r.body["status"], "nurturing", "50 ≥ 50 and zeros allowed, but no champion");
    let champion =
        r.body["conditions"].as_array().unwrap().iter().find(|c| c["condition"] == "meddicc.champion").unwrap();
    assert_eq!(champion["why"], "champion is unknown; it must be confirmed");
    let mut body = bant(20, 15, 15, 0);
    body["meddicc"] = json!({"champion": {"status": "confirmed", "notes": "Head of Sales"}});
    assert_eq!(qualify(&app, &t, id, body).await.body["status"], "qualified");
}

#[tokio::test]
async fn recycle_disqualify_and_a_manager_s_reversal_are_recorded() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let lead = app.post(&t.path("/leads"), &rep, lead_body(1)).await.body;
    let id = lead["id"].as_str().unwrap();
    let revisit = (chrono::Utc::now() + chrono::Duration::days(60)).date_naive().to_string();
    let r = app
        .post(
            &t.path(&format!("/leads/{id}/recycle")),
            &rep,
            json!({"reason": "Budget next year", "revisit_on": revisit}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (200, Some("nurturing")), "{:?}", r.body);
    assert_eq!(r.body["revisit_on"], revisit.as_str());
    let recycle = t.path(&format!("/leads/{id}/recycle"));
    let again = app.post(&recycle, &rep, json!({"reason": "Budget next year", "revisit_on": revisit})).await;
    assert_eq!(
        (again.status.as_u16(), again.body["version"].clone()),
        (200, r.body["version"].clone()),
        "a retry holds"
    );

    let disqualify = t.path(&format!("/leads/{id}/disqualify"));
    let r = app.post(&disqualify, &rep, json!({"reason": "because"})).await;
    assert_eq!(
        (r.status.as_u16(), r.error_fields()),
        (422, vec!["reason".to_string()]),
        "reasons come from the policy"
    );
    let r = app.post(&disqualify, &rep, json!({"reason": "No Budget"})).await;
    assert_eq!((r.body["status"].as_str(), r.body["status_reason"].as_str()), (Some("unqualified"), Some("no budget")));
    let again = app.post(&disqualify, &rep, json!({"reason": "no budget"})).await;
    assert_eq!(
        (again.status.as_u16(), again.body["version"].clone()),
        (200, r.body["version"].clone()),
        "a retry holds"
    );
    let r = app.post(&t.path(&format!("/leads/{id}/qualify")), &rep, bant(25, 25, 25, 25)).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["status".to_string()]), "disqualified stays so");
    let lead_path = t.path(&format!("/leads/{id}"));
    let r = app.patch(&lead_path, &rep, json!({"version": 3, "status": "new"})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["status".to_string()]), "not by editing either");
    let r = app.patch(&lead_path, &manager, json!({"version": 3, "status": "nurturing"})).await;
    assert_eq!(r.status, 422, "a manager reverses the decision instead: {:?}", r.body);
    let r = app.delete(&lead_path, &rep).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["status".to_string()]), "nor archive-and-restore");

    let reverse = t.path(&format!("/leads/{id}/reverse-decision"));
    assert_eq!(app.post(&reverse, &rep, json!({"reason": "oops"})).await.status, 403, "managers reverse");
    let r = app.post(&reverse, &manager, json!({"reason": "They found budget"})).await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (200, Some("nurturing")), "back where it was");
    assert_eq!(r.body["status_reason"], Value::Null);
    let retried = app.post(&reverse, &manager, json!({"reason": "They found budget"})).await;
    assert_eq!(
        (retried.status.as_u16(), retried.body["version"].clone()),
        (200, r.body["version"].clone()),
        "a retry holds"
    );
    let r = app.post(&reverse, &manager, json!({"reason": "again"})).await;
    assert_eq!(r.status, 422, "a reversal is not reversed: {:?}", r.body);
    let q = app.get(&t.path(&format!("/leads/{id}/qualification")), &rep).await;
    let decisions: Vec<&str> =
        q.body["history"].as_array().unwrap().iter().map(|h| h["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["reversed", "disqualified", "recycled"]);
    assert_eq!(q.body["history"][0]["decided_by"], "manager-1");
}

#[tokio::test]
async fn the_risk_score_explains_itself() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();
    let risk = t.path(&format!("/leads/{id}/risk-score"));
    let r = app.get(&risk, &t.admin()).await;
    assert_eq!(r.body["score"], 75, "{:?}", r.body);
    let weights: u64 = r.body["factors"].as_array().unwrap().iter().map(|f| f["weight"].as_u64().unwrap()).sum();
    assert_eq!(weights, 100);
    let mut body = bant(20, 5, 20, 20);
    body["meddicc"] = json!({"economic_buyer": {"status": "confirmed"}, "champion": {"status": "confirmed"},
        "competition": {"status": "confirmed", "notes": "Rival CRM in the deal"}});
    qualify(&app, &t, id, body).await;
    let r = app.get(&risk, &t.admin()).await;
    let applied: Vec<&str> = r.body["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["applies"] == true)
        .map(|f| f["factor"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["competitor_present", "no_decision_maker"]);
    assert_eq!(r.body["score"], 25);
    assert_eq!(app.get(&risk, &t.admin()).await.body, r.body, "deterministic");
}

#[tokio::test]
async fn an_unqualified_lead_is_not_converted_and_nothing_is_written() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();
    qualify(&app, &t, id, bant(10, 10, 10, 0)).await;
    let events_before = outbox(&app, &t).await.len();
    let r = app.post(&t.path(&format!("/leads/{id}/convert")), &t.admin(), json!({})).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["type"], "/api/problems/not-eligible");
    assert_eq!(r.error_fields(), ["status", "bant_total", "bant_no_zero_item"]);
    assert_eq!(r.body["errors"][0]["message"], "the lead is nurturing; only a qualified lead converts");
    assert_eq!(account_count(&app, &t).await, 0);
    assert_eq!(app.get(&t.path("/contacts"), &t.admin()).await.body["items"], json!([]));
    assert_eq!(outbox(&app, &t).await.len(), events_before);
    let after = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await;
    assert_eq!((after.body["status"].as_str(), after.body["conversion"].clone()), (Some("nurturing"), Value::Null));
    // Bad overrides on a qualified lead: named, nothing written.
    let id = qualified_lead(&app, &t, 2).await;
    let r = app
        .post(
            &t.path(&format!("/leads/{id}/convert")),
            &t.admin(),
            json!({"opportunity": {"stage": "closed_won", "amount": {"value_minor": -5, "currency": "usd"}},
                "account": {"website": "javascript:alert(1)"}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.error_fields()),
        (
            400,
            ["account.website", "opportunity.amount.value_minor", "opportunity.amount.currency", "opportunity.stage"]
                .map(String::from)
                .to_vec()
        )
    );
    let r = app
        .post(&t.path(&format!("/leads/{id}/convert")), &t.admin(), json!({"account_id": "01JD7Z3K8Q6W9X2Y4B5C6D7E8F"}))
        .await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["account_id".to_string()]));
    assert_eq!(account_count(&app, &t).await, 0);
}

#[tokio::test]
async fn a_conversion_is_its_reads_and_one_transaction() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let id = qualified_lead(&app, &t, 1).await;
    app.take_requests();
    let body = json!({"opportunity": {"name": "Acme CRM rollout", "amount": {"value_minor": 4_500_000, "currency": "EUR"},
        "close_date": (chrono::Utc::now() + chrono::Duration::days(45)).date_naive().to_string(), "stage": "needs_analysis"},
        "contact": {"roles": ["decision_maker", "champion"]}});
    let r = app.post(&t.path(&format!("/leads/{id}/convert")), &t.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // The lead and its assessments (1 Query), the policy and the company's stages (2 GetItems, read
    // at once), then one transaction.
    assert_eq!(
        app.take_requests(),
        [("GetItem".to_string(), 2), ("Query".to_string(), 1), ("TransactWriteItems".to_string(), 1)].into()
    );
    let ids = r.body.clone();
    assert_eq!(
        r.header("location"),
        Some(t.path(&format!("/customers/{}", ids["account_id"].as_str().unwrap())).as_str())
    );
    assert_eq!(ids["account_created"], true);

    let lead = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await.body;
    assert_eq!(lead["status"], "converted");
    assert_eq!(lead["conversion"]["contact_id"], ids["contact_id"]);
    assert_eq!(lead["email"], "ana.1@acme.example", "the lead keeps its data");
    let overview =
        app.get(&t.path(&format!("/customers/{}/overview", ids["account_id"].as_str().unwrap())), &t.admin()).await;
    assert_eq!(overview.status, 200, "{:?}", overview.body);
    let o = &overview.body;
    assert_eq!(
        (o["account"]["name"].as_str(), o["account"]["domain"].as_str()),
        (Some("Acme Ltd"), Some("acme.example"))
    );
    assert_eq!(o["account"]["source_lead_id"], id.as_str());
    assert_eq!(o["account"]["primary_contact_id"], ids["contact_id"]);
    assert_eq!(o["contacts"][0]["roles"], json!(["decision_maker", "champion"]));
    assert_eq!(o["open_opportunities"][0]["name"], "Acme CRM rollout");
    assert_eq!(o["open_opportunities"][0]["amount"], json!({"value_minor": 4_500_000, "currency": "EUR"}));
    assert_eq!(o["latest_activities"][0]["id"], ids["activity_id"]);
    assert_eq!(o["latest_activities"][0]["type"], "system");
    assert_eq!(o["account"]["health"]["score"], 60, "active today and an open opportunity");
    let contact = app.get(&t.path(&format!("/contacts/{}", ids["contact_id"].as_str().unwrap())), &t.admin()).await;
    assert_eq!(
        (contact.body["source_lead_id"].as_str(), contact.body["primary"].as_bool()),
        (Some(id.as_str()), Some(true))
    );
    // The activity sits on the lead's, the contact's and the opportunity's timelines too.
    let keys = keel_store::TenantKeys::new(&t.id);
    for pk in [
        keys.lead(&id),
        keel_store::crm::contact_pk(&keys, ids["contact_id"].as_str().unwrap()),
        keel_store::crm::deal_pk(&keys, ids["opportunity_id"].as_str().unwrap()),
    ] {
        let entries = partition(&app, pk.clone()).await;
        assert!(entries.iter().any(|i| i["sk"].as_s().unwrap().starts_with("ACT#")), "{pk}");
    }
    let kinds: Vec<String> =
        outbox(&app, &t).await.iter().map(|e| e["detail_type"].as_str().unwrap().to_string()).collect();
    for kind in ["LeadConverted", "AccountChanged", "ContactChanged"] {
        assert_eq!(kinds.iter().filter(|k| *k == kind).count(), 1, "{kind}");
    }
    // Converting again answers the same ids.
    let again = app.post(&t.path(&format!("/leads/{id}/convert")), &t.admin(), json!({})).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &ids));
}

#[tokio::test]
async fn ten_concurrent_conversions_make_one_account_contact_and_opportunity() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let id = qualified_lead(&app, &t, 1).await;
    let path = t.path(&format!("/leads/{id}/convert"));
    let token = t.admin();
    let answers = futures::future::join_all((0..10).map(|_| app.post(&path, &token, json!({})))).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{:?}", answers.iter().map(|r| (r.status, r.body.clone())).collect::<Vec<_>>());
    for r in &answers {
        assert!(r.status == 201 || r.status == 200, "{:?}", r.body);
        assert_eq!(r.body["account_id"], answers[0].body["account_id"]);
        assert_eq!(r.body["contact_id"], answers[0].body["contact_id"]);
        assert_eq!(r.body["opportunity_id"], answers[0].body["opportunity_id"]);
    }
    assert_eq!(account_count(&app, &t).await, 1);
    assert_eq!(app.get(&t.path("/contacts"), &t.admin()).await.body["items"].as_array().unwrap().len(), 1);
    let converted = outbox(&app, &t).await.iter().filter(|e| e["detail_type"] == "LeadConverted").count();
    assert_eq!(converted, 1);
}

#[tokio::test]
async fn a_lead_converts_into_an_existing_account() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let account = app
        .post(&t.path("/customers"), &t.admin(), json!({"name": "ACME Limited", "website": "https://www.acme.example"}))
        .await;
    assert_eq!(account.status, 201, "{:?}", account.body);
    let account_id = account.body["id"].as_str().unwrap().to_string();
    let first = app
        .post(
            &t.path("/contacts"),
            &t.admin(),
            json!({"account_id": account_id, "first_name": "Jo", "last_name": "Lee"}),
        )
        .await;
    assert_eq!(first.body["primary"], true, "an account's first contact is its primary");
    let id = qualified_lead(&app, &t, 1).await;

    let preview = app.get(&t.path(&format!("/leads/{id}/conversion-preview")), &t.admin()).await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    assert_eq!(preview.body["suggestions"][0]["account_id"], account_id.as_str());
    assert_eq!(preview.body["suggestions"][0]["matched_by"], "domain");
    assert_eq!(preview.body["suggestions"].as_array().unwrap().len(), 1, "the name match is the same account");
    assert_eq!(preview.body["new_account_name"], "Acme Ltd");

    let r = app.post(&t.path(&format!("/leads/{id}/convert")), &t.admin(), json!({"account_id": account_id})).await;
    assert_eq!((r.status.as_u16(), r.body["account_created"].as_bool()), (201, Some(false)), "{:?}", r.body);
    assert_eq!(r.body["account_id"], account_id.as_str());
    let o = app.get(&t.path(&format!("/customers/{account_id}/overview")), &t.admin()).await.body;
    assert_eq!(o["account"]["contact_count"], 2);
    assert_eq!(o["account"]["open_opportunities"], 1);
    assert_eq!(o["account"]["version"], 3, "created, its first contact, the conversion");
    assert_eq!(o["account"]["primary_contact_id"], first.body["id"], "the primary stays");
    assert_eq!(o["contacts"][0]["primary"], true);
    assert_eq!(o["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(account_count(&app, &t).await, 1, "no second account");

    // An inactive account takes no conversions.
    let other = qualified_lead(&app, &t, 2).await;
    let patched = app
        .patch(&t.path(&format!("/customers/{account_id}")), &t.admin(), json!({"version": 3, "lifecycle": "inactive"}))
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let r = app.post(&t.path(&format!("/leads/{other}/convert")), &t.admin(), json!({"account_id": account_id})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["account_id".to_string()]));
}

#[tokio::test]
async fn the_company_policy_converts_qualified_leads_automatically() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let body = json!({"version": 0, "bant_min_total": 70, "bant_no_zero_item": true,
        "disqualify_reasons": ["no budget"], "conversion_trigger": "auto_convert"});
    let r = app
        .call(axum::http::Method::PUT, &t.path("/leads/qualification-policy"), Some(&t.admin()), Some(body), &[])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = qualified_lead(&app, &t, 1).await;
    // The LeadQualified event travels stream → relay → bus → conversion-followups queue → consumer.
    let deadline = Instant::now() + Duration::from_secs(60);
    let lead = loop {
        let lead = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await.body;
        if lead["status"] == "converted" {
            break lead;
        }
        assert!(Instant::now() < deadline, "never converted: {lead}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let account_id = lead["conversion"]["account_id"].as_str().unwrap();
    let account = app.get(&t.path(&format!("/customers/{account_id}")), &t.admin()).await;
    assert_eq!((account.status.as_u16(), account.body["name"].as_str()), (200, Some("Acme Ltd")));
    assert_eq!(lead["conversion"]["converted_by"], t.user_id.as_str(), "on behalf of who qualified it");

    // The same event delivered again converts nothing more.
    let event = outbox(&app, &t).await.into_iter().find(|e| e["detail_type"] == "LeadQualified").unwrap();
    let envelope: keel_events::Envelope = serde_json::from_value(event).unwrap();
    let db = app.state.db.clone();
    let harness = keel_worker::Harness::new(db.clone(), keel_leads::ConversionFollowups { db });
    let message = keel_tests::bus_message(&envelope);
    let sqs: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json!({"Records": [{"messageId": "m-1", "body": message}]})).unwrap();
    assert!(harness.handle_batch(sqs).await.batch_item_failures.is_empty());
    assert_eq!(account_count(&app, &t).await, 1);
}

#[tokio::test]
async fn a_tighter_policy_or_a_reused_key_does_not_sneak_a_lead_through() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let first = qualified_lead(&app, &t, 1).await;
    // The same Idempotency-Key and body on another lead is another assessment, not a replay.
    let second = capture(&app, &t, lead_body(2)).await["id"].as_str().unwrap().to_string();
    let key = [("Idempotency-Key", "assess-1")];
    let token = t.admin();
    let qualify_with_key = |lead: String| {
        let path = t.path(&format!("/leads/{lead}/qualify"));
        let (app, token, key) = (&app, &token, &key);
        async move { app.call(axum::http::Method::POST, &path, Some(token), Some(bant(20, 20, 20, 15)), key).await }
    };
    let a = qualify_with_key(first.clone()).await;
    let b = qualify_with_key(second.clone()).await;
    assert_ne!(a.body["assessment"]["id"], b.body["assessment"]["id"]);
    assert_eq!(app.get(&t.path(&format!("/leads/{second}")), &t.admin()).await.body["status"], "qualified");

    // The policy tightens after the lead qualified: conversion asks for it to be assessed again.
    let body = json!({"version": 0, "bant_min_total": 70, "bant_no_zero_item": true, "meddicc_required": ["metrics"],
        "disqualify_reasons": ["no budget"], "conversion_trigger": "off"});
    app.call(axum::http::Method::PUT, &t.path("/leads/qualification-policy"), Some(&t.admin()), Some(body), &[]).await;
    let r = app.post(&t.path(&format!("/leads/{first}/convert")), &t.admin(), json!({})).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (409, vec!["meddicc.metrics".to_string()]), "{:?}", r.body);
    let preview = app.get(&t.path(&format!("/leads/{first}/conversion-preview")), &t.admin()).await;
    assert_eq!(preview.body["eligible"], false, "the preview says the same");
}

#[tokio::test]
async fn a_conversion_gives_records_only_to_active_people() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let rep = app.user_token(&t, "rep-1", Role::SalesRep).await;
    let lead = app.post(&t.path("/leads"), &rep, lead_body(1)).await.body;
    let id = lead["id"].as_str().unwrap();
    let r = app.post(&t.path(&format!("/leads/{id}/qualify")), &rep, bant(20, 20, 20, 15)).await;
    assert_eq!(r.body["status"], "qualified");
    // The rep leaves the company; a manager converts the lead they owned.
    let r = app.patch(&t.path("/users/rep-1"), &t.admin(), json!({"active": false})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let manager = app.user_token(&t, "manager-1", Role::Manager).await;
    let r = app.post(&t.path(&format!("/leads/{id}/convert")), &manager, json!({})).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.error_fields(), ["account.owner_id"], "the first part given to them");
    let r = app
        .post(
            &t.path(&format!("/leads/{id}/convert")),
            &manager,
            json!({"account": {"owner_id": "manager-1"}, "contact": {"owner_id": "manager-1"},
                "opportunity": {"owner_id": "manager-1"}}),
        )
        .await;
    assert_eq!(r.status, 201, "given to someone active: {:?}", r.body);
}

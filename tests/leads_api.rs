//! The leads API end to end against DynamoDB Local: what users do, what they get wrong, what
//! races and retries do, and what another tenant can (not) see.

use axum::http::Method;
use keel_http::Role;
use keel_tests::{all_leads, capture, lead_body, leads_app, outbox};
use serde_json::json;

#[tokio::test]
async fn capture_read_update_list_with_round_trip_budgets() {
    let app = leads_app().await;
    let t = app.tenant().await;
    app.take_requests();

    let r = app.post(&t.path("/leads"), &t.admin(), lead_body(1)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // The first request of a user in a process also reads the user's standing (cached for a few
    // seconds). The rate limit is decided in the process: its counts reach the table in the
    // background, once per 75 of a company's requests (15 of a user's) per instance.
    assert_eq!(app.take_requests(), [("GetItem".to_string(), 1), ("TransactWriteItems".to_string(), 1)].into());
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), Some(t.path(&format!("/leads/{id}")).as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["status"], "new");
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["score"], 25, "email 10 + phone 10 + company 5");
    assert_eq!(r.body["score_band"], "cold");
    assert_eq!(r.body["owner_id"], t.user_id.as_str());

    let got = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, r.body);
    assert_eq!(app.take_requests(), [("GetItem".to_string(), 1)].into());

    let patch =
        json!({"version": 1, "budget": "50k USD", "authority": "CFO", "need": "Forecasting", "status": "contacted"});
    let up = app.patch(&t.path(&format!("/leads/{id}")), &t.admin(), patch).await;
    assert_eq!(up.status, 200, "{:?}", up.body);
    assert_eq!(up.body["version"], 2);
    assert_eq!(up.body["score"], 70, "plus three BANT answers at 15");
    assert_eq!(up.body["score_band"], "hot");
    assert_eq!(up.body["status"], "contacted");
    assert_eq!(app.take_requests(), [("GetItem".to_string(), 1), ("TransactWriteItems".to_string(), 1)].into());

    let list = app.get(&t.path("/leads"), &t.admin()).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["version"], 2);
    assert_eq!(list.body["next_cursor"], serde_json::Value::Null);
    assert_eq!(app.take_requests(), [("Query".to_string(), 1)].into());

    let events: Vec<String> =
        outbox(&app, &t).await.iter().map(|e| e["detail_type"].as_str().unwrap().into()).collect();
    assert_eq!(events, ["LeadCreated", "LeadUpdated"]);
    let created = &outbox(&app, &t).await[0];
    assert_eq!(created["tenant_id"], t.id.as_str());
    assert_eq!(created["detail"]["lead_id"], id.as_str());
    assert!(created["detail"].get("email").is_none(), "events carry no contact details");
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_written() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let cases = [
        (json!({}), vec!["first_name", "last_name", "email", "source", "campaign", "medium"]),
        (
            json!({"first_name": "A", "last_name": "B", "email": "not-an-email", "source": "x", "campaign": "y", "medium": "z"}),
            vec!["email"],
        ),
        (
            json!({"first_name": "A", "last_name": "B", "phone": "555-0123", "source": "x", "campaign": "y", "medium": "z"}),
            vec!["phone"],
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "source": " ", "campaign": "y", "medium": "z"}),
            vec!["source"],
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "source": "x", "campaign": "y"}),
            vec!["medium"],
        ),
        (
            json!({"first_name": "A".repeat(101), "last_name": "B", "email": "a@b.co", "source": "x", "campaign": "y", "medium": "z"}),
            vec!["first_name"],
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "source": "x", "campaign": "y", "medium": "z", "website": "nope"}),
            vec!["website"],
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "source": "x", "campaign": "y", "medium": "z", "budget": "x".repeat(501)}),
            vec!["budget"],
        ),
        (json!({"first_name": 7, "last_name": "B"}), vec!["first_name"]),
        (json!({"first_name": "A", "nickname": "B"}), vec!["nickname"]),
    ];
    for (body, fields) in cases {
        let r = app.post(&t.path("/leads"), &t.admin(), body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let named = r.error_fields();
        for f in fields {
            assert!(named.contains(&f.to_string()), "{body}: {f} not in {named:?}");
        }
    }
    assert!(all_leads(&app, &t).await.is_empty());
    assert!(outbox(&app, &t).await.is_empty());
}

#[tokio::test]
async fn malformed_oversized_and_wrongly_typed_bodies_are_refused() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let token = t.admin();
    let send = |body: String, content_type: &'static str| {
        let req = axum::http::Request::post(t.path("/leads"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        app.send(req)
    };
    let r = send("{\"first_name\": ".into(), "application/json").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["type"], "/api/problems/malformed");
    let mut big = lead_body(1);
    big["notes"] = json!("x".repeat(300 * 1024));
    let r = send(big.to_string(), "application/json").await;
    assert_eq!(r.status, 413, "{:?}", r.body);
    let r = send(lead_body(1).to_string(), "text/plain").await;
    assert_eq!(r.status, 415);
    // No route takes PUT: API Gateway (and the local gateway, which routes by template.yaml) answers 404.
    let r = app.call(Method::PUT, &t.path("/leads"), Some(&token), None, &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["type"], "/api/problems/not-found");
    assert!(all_leads(&app, &t).await.is_empty());
}

#[tokio::test]
async fn duplicates_by_normalised_email_or_phone_are_refused_with_the_existing_lead() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let first = capture(&app, &t, lead_body(1)).await;
    let mut same_email = lead_body(2);
    same_email["email"] = json!("  ANA.1@Acme.Example ");
    let r = app.post(&t.path("/leads"), &t.admin(), same_email).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["existing_id"], first["id"]);
    assert_eq!(r.error_fields(), ["email"]);

    let mut same_phone = lead_body(3);
    same_phone["phone"] = json!("+1 (415) 555-0001");
    let r = app.post(&t.path("/leads"), &t.admin(), same_phone).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["existing_id"], first["id"]);
    assert_eq!(r.error_fields(), ["phone"]);

    // Editing another lead onto a used email is refused too; its own email is free to keep.
    let second = capture(&app, &t, lead_body(4)).await;
    let path = t.path(&format!("/leads/{}", second["id"].as_str().unwrap()));
    let r = app.patch(&path, &t.admin(), json!({"version": 1, "email": "ana.1@acme.example"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["existing_id"], first["id"]);
    // Moving the email away frees the old address for a new lead.
    let r = app.patch(&path, &t.admin(), json!({"version": 1, "email": "ana.moved@acme.example"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut reuse = lead_body(5);
    reuse["email"] = json!("ana.4@acme.example");
    capture(&app, &t, reuse).await;
    assert_eq!(all_leads(&app, &t).await.len(), 3);

    // The same person in another company is not a duplicate.
    let other = app.tenant().await;
    capture(&app, &other, lead_body(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_captures_of_one_person_create_exactly_one_lead() {
    let app = std::sync::Arc::new(leads_app().await);
    let t = app.tenant().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (app, path, token) = (app.clone(), t.path("/leads"), t.admin());
            let mut body = lead_body(100 + i);
            body["email"] = json!("race@acme.example");
            tokio::spawn(async move { app.post(&path, &token, body).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let created: Vec<_> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 409, "{:?}", r.body);
        assert_eq!(r.body["existing_id"], created[0].body["id"]);
    }
    assert_eq!(all_leads(&app, &t).await.len(), 1);
    assert_eq!(outbox(&app, &t).await.len(), 1);
}

#[tokio::test]
async fn updates_need_the_current_version() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let path = t.path(&format!("/leads/{}", lead["id"].as_str().unwrap()));

    let r = app.patch(&path, &t.admin(), json!({"notes": "called"})).await;
    assert_eq!(r.status, 428);
    assert_eq!(r.error_fields(), ["version"]);

    let r = app
        .call(Method::PATCH, &path, Some(&t.admin()), Some(json!({"notes": "called"})), &[("if-match", "\"1\"")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"2\""));

    // A second writer who read version 1 is told, and nothing of theirs is written.
    let r = app.patch(&path, &t.admin(), json!({"version": 1, "notes": "emailed"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["current_version"], 2);
    assert_eq!(app.get(&path, &t.admin()).await.body["notes"], "called");

    // Retrying the request that already succeeded changes nothing and answers the lead.
    let r = app
        .call(Method::PATCH, &path, Some(&t.admin()), Some(json!({"notes": "called"})), &[("if-match", "\"1\"")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"], 2);

    // Two writers racing from the same version: exactly one wins.
    let token = t.admin();
    let a = app.patch(&path, &token, json!({"version": 2, "notes": "from A"}));
    let b = app.patch(&path, &token, json!({"version": 2, "notes": "from B"}));
    let (a, b) = tokio::join!(a, b);
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(app.get(&path, &t.admin()).await.body["version"], 3);

    // Status rules: qualification has its own action.
    let r = app.patch(&path, &t.admin(), json!({"version": 3, "status": "qualified"})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["status"]);
}

#[tokio::test]
async fn archive_keeps_the_lead_and_can_be_undone() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let path = t.path(&format!("/leads/{}", lead["id"].as_str().unwrap()));
    let r = app.delete(&path, &t.admin()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "archived");
    let again = app.delete(&path, &t.admin()).await;
    assert_eq!((again.status.as_u16(), again.body["version"].clone()), (200, json!(2)));
    assert_eq!(app.get(&path, &t.admin()).await.body["status"], "archived");
    let archived = app.get(&t.path("/leads?status=archived"), &t.admin()).await;
    assert_eq!(archived.body["items"].as_array().unwrap().len(), 1);
    let fresh = app.get(&t.path("/leads?status=new"), &t.admin()).await;
    assert!(fresh.body["items"].as_array().unwrap().is_empty());
    let r = app.patch(&path, &t.admin(), json!({"version": 2, "status": "new"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "new");
    let kinds: Vec<String> = outbox(&app, &t).await.iter().map(|e| e["detail_type"].as_str().unwrap().into()).collect();
    assert_eq!(kinds, ["LeadCreated", "LeadArchived", "LeadUpdated"]);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let key = [("idempotency-key", "form-submit-42")];
    let first = app.call(Method::POST, &t.path("/leads"), Some(&t.admin()), Some(lead_body(1)), &key).await;
    assert_eq!(first.status, 201);
    let replay = app.call(Method::POST, &t.path("/leads"), Some(&t.admin()), Some(lead_body(1)), &key).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("location"), first.header("location"));
    let other = app.call(Method::POST, &t.path("/leads"), Some(&t.admin()), Some(lead_body(2)), &key).await;
    assert_eq!(other.status, 422);
    assert_eq!(all_leads(&app, &t).await.len(), 1);
    // Keys are per tenant: another company using the same key captures its own lead.
    let u = app.tenant().await;
    let theirs = app.call(Method::POST, &u.path("/leads"), Some(&u.admin()), Some(lead_body(1)), &key).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
}

#[tokio::test]
async fn filters_and_cursors_page_through_newest_first() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut body = lead_body(n);
        body["source"] = json!(if n % 2 == 0 { "Referral" } else { "Google Ads" });
        ids.push(capture(&app, &t, body).await["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = t.path("/leads?limit=2");
    loop {
        let r = app.get(&path, &t.admin()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        seen.extend(r.body["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()));
        match r.body["next_cursor"].as_str() {
            Some(c) => path = t.path(&format!("/leads?limit=2&cursor={c}")),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let referrals = app.get(&t.path("/leads?source=Referral&limit=200"), &t.admin()).await;
    assert_eq!(referrals.body["items"].as_array().unwrap().len(), 3);
    let bands = app.get(&t.path("/leads?score_band=cold"), &t.admin()).await;
    assert_eq!(bands.body["items"].as_array().unwrap().len(), 5);

    // A cursor continues only its own query of its own tenant.
    let page = app.get(&t.path("/leads?limit=1"), &t.admin()).await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let r = app.get(&t.path(&format!("/leads?limit=1&source=Referral&cursor={cursor}")), &t.admin()).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec!["cursor".to_string()]));
    let u = app.tenant().await;
    let r = app.get(&u.path(&format!("/leads?limit=1&cursor={cursor}")), &u.admin()).await;
    assert_eq!(r.status, 400);
    let r = app.get(&t.path("/leads?limit=1&cursor=abc.def"), &t.admin()).await;
    assert_eq!(r.status, 400);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("status=lost", "status"),
        ("score_band=warmish", "score_band"),
        ("colour=red", "colour"),
    ] {
        let r = app.get(&t.path(&format!("/leads?{query}")), &t.admin()).await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.error_fields(), [field], "{query}");
    }
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_route_and_changes_nothing() {
    let app = leads_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let lead = capture(&app, &a, lead_body(1)).await;
    let id = lead["id"].as_str().unwrap();
    let b_token = b.admin();
    let routes = [
        (Method::GET, a.path("/leads"), None),
        (Method::POST, a.path("/leads"), Some(lead_body(2))),
        (Method::GET, a.path(&format!("/leads/{id}")), None),
        (Method::PATCH, a.path(&format!("/leads/{id}")), Some(json!({"version": 1, "notes": "mine now"}))),
        (Method::DELETE, a.path(&format!("/leads/{id}")), None),
        // B's own company path with A's lead id: the id does not exist for B.
        (Method::GET, b.path(&format!("/leads/{id}")), None),
        (Method::PATCH, b.path(&format!("/leads/{id}")), Some(json!({"version": 1, "notes": "mine now"}))),
        (Method::DELETE, b.path(&format!("/leads/{id}")), None),
    ];
    for (method, path, body) in routes {
        let r = app.call(method.clone(), &path, Some(&b_token), body, &[]).await;
        assert_eq!(r.status, 404, "{method} {path}: {:?}", r.body);
    }
    let after = app.get(&a.path(&format!("/leads/{id}")), &a.admin()).await;
    assert_eq!(after.body, lead);
    assert_eq!(all_leads(&app, &a).await.len(), 1);
    assert!(all_leads(&app, &b).await.is_empty());
    // A's email is not reserved in B's company either.
    capture(&app, &b, lead_body(1)).await;
}

#[tokio::test]
async fn viewers_read_but_cannot_write() {
    let app = leads_app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let path = t.path(&format!("/leads/{}", lead["id"].as_str().unwrap()));
    let viewer = t.token(Role::Viewer);
    assert_eq!(app.get(&path, &viewer).await.status, 200);
    assert_eq!(app.get(&t.path("/leads"), &viewer).await.status, 200);
    assert_eq!(app.post(&t.path("/leads"), &viewer, lead_body(2)).await.status, 403);
    assert_eq!(app.patch(&path, &viewer, json!({"version": 1, "notes": "x"})).await.status, 403);
    assert_eq!(app.delete(&path, &viewer).await.status, 403);
    assert_eq!(app.get(&path, &t.admin()).await.body, lead);
    for role in [Role::Manager, Role::SalesRep] {
        let r = app.post(&t.path("/leads"), &t.token(role), lead_body(10 + role as u32)).await;
        assert_eq!(r.status, 201, "{role:?}");
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found() {
    let app = leads_app().await;
    let t = app.tenant().await;
    for id in ["01JD7Z3K8Q6W9X2Y4B5C6D7E8F", "not-a-ulid", "..%2F..%2Fetc"] {
        let r = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await;
        assert_eq!(r.status, 404, "{id}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    // An id no record can have (too long for a key, not UTF-8) names the parameter at fault.
    for id in ["x".repeat(5000), "%FF".to_string()] {
        let r = app.get(&t.path(&format!("/leads/{id}")), &t.admin()).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (404, vec!["lead_id".to_string()]));
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let r = app.get("/api/nothing-here", &t.admin()).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn links_and_names_that_could_deceive_are_refused_and_nothing_is_written() {
    let app = leads_app().await;
    let t = app.tenant().await;
    for (field, value) in [
        ("website", "javascript:alert(document.cookie)//x.y"),
        ("website", "data:text/html,<script>alert(1)</script>.x"),
        ("first_name", "Ana\u{202E}nimda"),
        ("company_name", "Acme\u{2067}Ltd"),
    ] {
        let mut body = lead_body(1);
        body[field] = json!(value);
        let r = app.post(&t.path("/leads"), &t.admin(), body).await;
        assert_eq!((r.status.as_u16(), r.error_fields()), (400, vec![field.to_string()]), "{field}: {value:?}");
    }
    assert!(all_leads(&app, &t).await.is_empty());
}

#[tokio::test]
async fn an_unchanged_resource_is_answered_304_without_a_body() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let lead = capture(&app, &t, lead_body(1)).await;
    let path = t.path(&format!("/leads/{}", lead["id"].as_str().unwrap()));
    let first = app.get(&path, &t.admin()).await;
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(first.header("cache-control"), Some("private, no-cache"), "browsers revalidate, never reuse blindly");
    let again = app.call(Method::GET, &path, Some(&t.admin()), None, &[("if-none-match", &etag)]).await;
    assert_eq!((again.status.as_u16(), &again.body), (304, &serde_json::Value::Null));
    // Lists and summaries get a digest of their body as their ETag.
    let list = app.get(&t.path("/leads"), &t.admin()).await;
    let tag = list.header("etag").unwrap().to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    let unchanged = app.call(Method::GET, &t.path("/leads"), Some(&t.admin()), None, &[("if-none-match", &tag)]).await;
    assert_eq!(unchanged.status, 304);
    capture(&app, &t, lead_body(2)).await;
    let changed = app.call(Method::GET, &t.path("/leads"), Some(&t.admin()), None, &[("if-none-match", &tag)]).await;
    assert_eq!(changed.status, 200, "a new lead changes the list");
    assert_eq!(changed.body["items"].as_array().unwrap().len(), 2);
    // Another company's caller with the same ETag learns nothing: its own answer is a 404.
    let other = app.tenant().await;
    let probe = app.call(Method::GET, &path, Some(&other.admin()), None, &[("if-none-match", &etag)]).await;
    assert_eq!(probe.status, 404);
}

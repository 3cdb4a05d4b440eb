//! Shared helpers of Keel's end-to-end tests (the tests themselves are the `[[test]]` targets).

use keel_testkit::{Tenant, TestApp};
use serde_json::{json, Value};

pub async fn leads_app() -> TestApp {
    TestApp::new(keel_leads::router).await
}

/// A valid lead body; `n` makes email and phone unique.
pub fn lead_body(n: u32) -> Value {
    json!({
        "first_name": "Ana",
        "last_name": format!("Silva {n}"),
        "company_name": "Acme Ltd",
        "email": format!("ana.{n}@acme.example"),
        "phone": format!("+1415555{:04}", n),
        "source": "Google Ads",
        "campaign": "CRM-Q4-2025",
        "medium": "CPC"
    })
}

/// Captures a lead and returns it.
pub async fn capture(app: &TestApp, tenant: &Tenant, body: Value) -> Value {
    let r = app.post(&tenant.path("/leads"), &tenant.admin(), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

/// Every lead the tenant has, following cursors.
pub async fn all_leads(app: &TestApp, tenant: &Tenant) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => tenant.path(&format!("/leads?limit=200&cursor={c}")),
            None => tenant.path("/leads?limit=200"),
        };
        let r = app.get(&path, &tenant.admin()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        out.extend(r.body["items"].as_array().cloned().unwrap_or_default());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// The tenant's outbox events, oldest first.
pub async fn outbox(app: &TestApp, tenant: &Tenant) -> Vec<Value> {
    let keys = keel_store::TenantKeys::new(&tenant.id);
    let out = app
        .state
        .db
        .client
        .query()
        .table_name(&app.state.db.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", keel_store::AttributeValue::S(keys.events()))
        .send()
        .await
        .expect("query outbox");
    out.items().iter().map(|i| serde_json::from_str(i["envelope"].as_s().expect("envelope")).expect("json")).collect()
}

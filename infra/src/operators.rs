//! Platform operators, created only here: by someone holding the deployment's AWS credentials
//! (the table) and its signing key, never through sign-up or by a company's administrator. An
//! operator is a user of the reserved `_platform` tenant with the `operator` role; its tokens act on
//! `/api/system/*` and the platform's audit trail, and on no company's records.

use chrono::Utc;
use keel_http::{RequestMeta, Role, TenantContext, TokenIssuer};
use keel_store::audit::FieldChange;
use keel_store::db::s;
use keel_store::{Db, TenantKeys, UnitOfWork, PLATFORM_TENANT};

/// How long an operator token lives: long enough for a session at the console, short enough that
/// a leaked one soon stops working.
pub const TOKEN_HOURS: i64 = 1;

fn context(operator_id: &str) -> TenantContext {
    TenantContext::acting(PLATFORM_TENANT, operator_id, Role::Operator)
}

/// Creates an operator (recorded in the platform's audit trail) and returns its id.
pub async fn create(db: &Db, name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 120 || name.chars().any(char::is_control) {
        return Err("--name must be 1-120 printable characters".into());
    }
    let id = ulid::Ulid::new().to_string();
    let platform = TenantKeys::platform();
    let item = keel_store::Item::from([
        ("pk".to_string(), s(platform.user(&id))),
        ("sk".to_string(), s("USER")),
        ("entity".to_string(), s("operator")),
        ("user_id".to_string(), s(&id)),
        ("company_id".to_string(), s(PLATFORM_TENANT)),
        ("email".to_string(), s("")),
        ("full_name".to_string(), s(name)),
        ("role".to_string(), s(Role::Operator.as_str())),
        ("active".to_string(), keel_store::AttributeValue::Bool(true)),
        ("created_at".to_string(), s(Utc::now().to_rfc3339())),
    ]);
    let change = FieldChange { field: "full_name".into(), before: serde_json::Value::Null, after: name.into() };
    let by = std::env::var("USER").unwrap_or_else(|_| "keel-dev".into());
    let meta = RequestMeta { request_id: ulid::Ulid::new().to_string(), source_ip: format!("cli:{by}") };
    let record = meta.audit(&context(&id), "operator.create", "operator", &id, vec![change]);
    let mut unit = UnitOfWork::new(db);
    unit.create(item);
    unit.audit(&platform, &record).map_err(|e| e.to_string())?;
    unit.commit().await.map_err(|e| e.to_string())?;
    Ok(id)
}

/// A token for an existing, active operator.
pub async fn token(db: &Db, issuer: &TokenIssuer, operator_id: &str) -> Result<String, String> {
    let item = db
        .get(&TenantKeys::platform().user(operator_id), "USER")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such operator")?;
    let is = |k: &str, v: &str| item.get(k).and_then(|a| a.as_s().ok()).is_some_and(|a| a == v);
    let active = item.get("active").and_then(|a| a.as_bool().ok()).copied().unwrap_or(false);
    if !is("role", Role::Operator.as_str()) || !active {
        return Err("not an active operator".into());
    }
    Ok(issuer.token(PLATFORM_TENANT, operator_id, Role::Operator, TOKEN_HOURS * 3600))
}

//! `POST /api/dev/token`: the local sign-in page's way to a token until the identity context
//! exists. Only the dev server has this route; no Lambda does.

use axum::extract::State;
use axum::Json;
use keel_http::{ApiError, ApiJson, Role, TokenIssuer};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTokenRequest {
    company_id: Option<String>,
    user_id: Option<String>,
    role: Role,
}

pub async fn mint(State(issuer): State<TokenIssuer>, body: ApiJson<DevTokenRequest>) -> Result<Json<Value>, ApiError> {
    let req = body.value;
    let company = req.company_id.filter(|c| !c.trim().is_empty()).unwrap_or_else(|| ulid::Ulid::new().to_string());
    if company.len() > 64 || !company.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::field("company_id", "letters, digits and dashes only, at most 64"));
    }
    let user = req.user_id.filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "dev-user".into());
    let ttl = 8 * 3600;
    Ok(Json(json!({
        "access_token": issuer.token(&company, &user, req.role, ttl),
        "token_type": "Bearer",
        "expires_in": ttl,
        "company_id": company,
        "user_id": user,
        "role": req.role,
    })))
}

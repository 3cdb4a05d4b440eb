//! `/api/auth/*`: sign-up, sign-in, token refresh, sign-out, and who am I.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use keel_core::{field_error::text, Email, FieldErrors};
use keel_http::{ApiError, ApiJson, AppState, RequestMeta, Role, TenantContext};
use keel_store::audit::FieldChange;
use keel_store::db::{from_item, s};
use keel_store::{StoreError, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::{
    add_new_company, add_new_user, company_pk, credentials, membership_pk, user_pk, Company, Membership, User,
};
use crate::sessions::{self, Session};
use crate::signing::Signer;
use crate::{lockout, password};

#[derive(Clone)]
pub struct IdentityState {
    pub app: AppState,
    pub signer: Arc<Signer>,
}

impl axum::extract::FromRef<IdentityState> for AppState {
    fn from_ref(s: &IdentityState) -> AppState {
        s.app.clone()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    company_name: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// Create a company and its first user (an administrator), signed in.
#[utoipa::path(post, path = "/api/auth/register", tag = "identity", request_body = Registration,
    responses((status = 201, description = "The company, its administrator and a session", body = Session)))]
pub async fn register(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<Registration>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let r = body.value;
    let mut e = FieldErrors::default();
    let company_name = text(&mut e, "company_name", r.company_name.as_deref(), true, 120);
    let full_name = text(&mut e, "full_name", r.full_name.as_deref(), true, 120);
    let (email, pw) = credentials(&mut e, r.email.as_deref(), r.password);
    let (Some(company_name), Some(full_name), Some(email)) = (company_name, full_name, email) else {
        return Err(ApiError::Validation(e));
    };
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }

    let app = &state.app;
    let (company_id, user_id) = (ulid::Ulid::new().to_string(), ulid::Ulid::new().to_string());
    let c = TenantKeys::new(&company_id);
    let now = Utc::now().to_rfc3339();
    let company = Company { company_id: company_id.clone(), name: company_name, created_at: now.clone() };
    let user = User {
        user_id: user_id.clone(),
        company_id: company_id.clone(),
        email: email.to_string(),
        full_name,
        role: Role::Admin,
        active: true,
        tokens_valid_after_ms: 0,
        password_hash: password::hash(&pw),
        created_at: now,
    };
    let family = ulid::Ulid::new().to_string();
    let (refresh, refresh_item) = sessions::new_refresh(&app.db.table, &c, &company_id, &user_id, &family);
    let ctx = TenantContext {
        tenant_id: company_id.clone(),
        user_id: user_id.clone(),
        role: Role::Admin,
        keys: c.clone(),
        issued_at_ms: 0,
    };
    let recorded = |field: &str, after: &str| FieldChange {
        field: field.into(),
        before: serde_json::Value::Null,
        after: after.into(),
    };
    let company_audit =
        meta.audit(&ctx, "company.create", "company", &company_id, vec![recorded("name", &company.name)]);
    let user_audit = meta.audit(
        &ctx,
        "user.create",
        "user",
        &user_id,
        vec![recorded("email", &user.email), recorded("full_name", &user.full_name), recorded("role", "admin")],
    );
    let mut unit = UnitOfWork::new(&app.db);
    add_new_company(&mut unit, &c, &company)?;
    add_new_user(&mut unit, &c, &user)?;
    unit.include(refresh_item).audit(&c, &company_audit)?.audit(&c, &user_audit)?;
    unit.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(sessions::session(&*state.signer.issuer().await?, &company_id, &user_id, Role::Admin, refresh)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
    /// Needed when the email belongs to users of several companies.
    company_id: Option<String>,
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("The email or password is not right")
}

/// Sign in. Unknown emails and wrong passwords answer alike; repeated failures lock out.
#[utoipa::path(post, path = "/api/auth/login", tag = "identity", request_body = Credentials,
    responses((status = 200, description = "Signed in", body = Session),
        (status = 401, description = "The email or password is not right"),
        (status = 429, description = "Too many failed attempts from this address or for this account")))]
pub async fn login(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<Credentials>,
) -> Result<Json<Session>, ApiError> {
    let app = &state.app;
    let creds = body.value;
    let email = Email::parse(&creds.email).map_err(|m| ApiError::field("email", m))?;
    if let Some(retry_after) = lockout::locked(&app.db, email.as_str(), &meta.source_ip).await? {
        return Err(ApiError::RateLimited { retry_after });
    }
    let memberships = app
        .db
        .client
        .query()
        .table_name(&app.db.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(membership_pk(email.as_str())))
        .send()
        .await
        .map_err(StoreError::from_sdk)?
        .items
        .unwrap_or_default()
        .into_iter()
        .map(from_item::<Membership>)
        .collect::<Result<Vec<_>, _>>()?;
    let chosen = match (&creds.company_id, memberships.len()) {
        (Some(c), _) => memberships.iter().find(|m| &m.company_id == c),
        (None, 1) => memberships.first(),
        (None, 0) => None,
        (None, _) => {
            // Only after the password matches one of them would naming companies be safe; asking
            // for the company id reveals no more than "this email has several workspaces".
            return Err(ApiError::field("company_id", "this email belongs to several companies: say which one"));
        }
    };
    let user: Option<User> = match chosen {
        Some(m) => app.db.get_as(&user_pk(&TenantKeys::new(&m.company_id), &m.user_id), "USER").await?,
        None => None,
    };
    let ok = password::verify(&creds.password, user.as_ref().map(|u| u.password_hash.as_str()));
    let Some(user) = user.filter(|u| ok && u.active) else {
        lockout::record_failure(&app.db, email.as_str(), &meta.source_ip).await?;
        return Err(bad_credentials());
    };
    let c = TenantKeys::new(&user.company_id);
    let family = ulid::Ulid::new().to_string();
    let (refresh, item) = sessions::new_refresh(&app.db.table, &c, &user.company_id, &user.user_id, &family);
    let actor = TenantContext {
        tenant_id: user.company_id.clone(),
        user_id: user.user_id.clone(),
        role: user.role,
        keys: c.clone(),
        issued_at_ms: 0,
    };
    let signed_in = meta.audit(&actor, "user.sign_in", "user", &user.user_id, vec![]);
    let mut unit = UnitOfWork::new(&app.db);
    unit.include(item).audit(&c, &signed_in)?;
    unit.commit().await?;
    Ok(Json(sessions::session(&*state.signer.issuer().await?, &user.company_id, &user.user_id, user.role, refresh)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    company_id: String,
    refresh_token: String,
}

/// Trade a refresh token for a new pair. The old one stops working; presenting it again revokes
/// every token of that sign-in.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "identity", request_body = RefreshRequest,
    responses((status = 200, description = "A new token pair", body = Session),
        (status = 401, description = "The refresh token is unknown, used or revoked")))]
pub async fn refresh(
    State(state): State<IdentityState>,
    body: ApiJson<RefreshRequest>,
) -> Result<Json<Session>, ApiError> {
    let app = &state.app;
    let req = body.value;
    let record = sessions::find(app, &req.company_id, &req.refresh_token).await?.ok_or_else(invalid_refresh)?;
    if record.used {
        // A rotated token came back: someone else has a copy. End that whole sign-in.
        sessions::revoke_family(app, &record.company_id, &record.family).await?;
        tracing::warn!(tenant_id = %record.company_id, "refresh token reuse: session family revoked");
        return Err(invalid_refresh());
    }
    let c = TenantKeys::new(&record.company_id);
    let user: User = app.db.get_as(&user_pk(&c, &record.user_id), "USER").await?.ok_or_else(invalid_refresh)?;
    if !user.active {
        return Err(invalid_refresh());
    }
    if record.issued_at_ms <= user.tokens_valid_after_ms {
        // Issued before a deactivation or role change: that sign-in is over, reactivated or not.
        sessions::revoke_family(app, &record.company_id, &record.family).await?;
        return Err(invalid_refresh());
    }
    let (next, next_item) =
        sessions::new_refresh(&app.db.table, &c, &record.company_id, &record.user_id, &record.family);
    let mut unit = UnitOfWork::new(&app.db);
    sessions::rotate(&mut unit, &c, &req.refresh_token, &record.family);
    unit.include(next_item);
    match unit.commit().await {
        Ok(()) => Ok(Json(sessions::session(
            &*state.signer.issuer().await?,
            &record.company_id,
            &record.user_id,
            user.role,
            next,
        ))),
        Err(WriteError::Refused(_)) => {
            // Used concurrently or revoked meanwhile: treat as reuse.
            sessions::revoke_family(app, &record.company_id, &record.family).await?;
            Err(invalid_refresh())
        }
        Err(e) => Err(e.into()),
    }
}

fn invalid_refresh() -> ApiError {
    ApiError::Unauthorized("The session has ended")
}

/// Sign out: the refresh token's whole sign-in ends.
#[utoipa::path(post, path = "/api/auth/logout", tag = "identity", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"),
        (status = 401, description = "The refresh token is unknown or revoked")))]
pub async fn logout(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    let req = body.value;
    let record = sessions::find(&state.app, &req.company_id, &req.refresh_token).await?.ok_or_else(invalid_refresh)?;
    let mut unit = UnitOfWork::new(&state.app.db);
    unit.include(sessions::revoke_item(&state.app.db.table, &record.company_id, &record.family));
    let c = TenantKeys::new(&record.company_id);
    if let Some(user) = state.app.db.get_as::<User>(&user_pk(&c, &record.user_id), "USER").await? {
        let actor = TenantContext {
            tenant_id: record.company_id.clone(),
            user_id: user.user_id.clone(),
            role: user.role,
            keys: c.clone(),
            issued_at_ms: 0,
        };
        let signed_out = meta.audit(&actor, "user.sign_out", "user", &user.user_id, vec![]);
        unit.audit(&c, &signed_out)?;
    }
    unit.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub email: String,
    pub full_name: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub company_id: String,
    pub company_name: String,
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<serde_json::Value>,
}

/// The signed-in user, their company and permissions.
#[utoipa::path(get, path = "/api/auth/me", tag = "identity",
    responses((status = 200, description = "The signed-in user", body = Me)), security(("bearer" = [])))]
pub async fn me(State(state): State<IdentityState>, ctx: TenantContext) -> Result<Json<Me>, ApiError> {
    let app = &state.app;
    let user: User = app.db.get_as(&user_pk(&ctx.keys, &ctx.user_id), "USER").await?.ok_or(ApiError::NotFound)?;
    let company: Company = app.db.get_as(&company_pk(&ctx.keys), "COMPANY").await?.ok_or(ApiError::NotFound)?;
    Ok(Json(Me {
        user_id: user.user_id,
        email: user.email,
        full_name: user.full_name,
        role: user.role,
        company_id: company.company_id,
        company_name: company.name,
        permissions: ctx.role.permissions().iter().map(|p| serde_json::to_value(p).unwrap_or_default()).collect(),
    }))
}

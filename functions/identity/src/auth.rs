//! `/api/auth/refresh`, `/api/auth/logout` and `/api/auth/me`: a session's life after sign-in.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use keel_http::{ApiError, ApiJson, AppState, RequestMeta, Role, TenantContext};
use keel_store::{TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mail::Mailer;
use crate::records::{company_pk, user_pk, Company, RefreshRecord, User};
use crate::sessions::{self, Session};
use crate::signing::Signer;

#[derive(Clone)]
pub struct IdentityState {
    pub app: AppState,
    pub signer: Arc<Signer>,
    pub mailer: Arc<Mailer>,
}

impl axum::extract::FromRef<IdentityState> for AppState {
    fn from_ref(s: &IdentityState) -> AppState {
        s.app.clone()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    company_id: String,
    refresh_token: String,
}

/// Trade a refresh token for a new pair. The old one stops working; presenting it again (after
/// the short grace window for tabs refreshing together) revokes every token of that sign-in.
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
    let c = TenantKeys::new(&record.company_id);
    let user: User = app.db.get_as(&user_pk(&c, &record.user_id), "USER").await?.ok_or_else(invalid_refresh)?;
    if !user.active {
        return Err(invalid_refresh());
    }
    if record.issued_at_ms <= user.tokens_valid_after_ms {
        // Issued before a deactivation, role or password change: that sign-in is over for good.
        sessions::revoke_family(app, &record.company_id, &record.family).await?;
        return Err(invalid_refresh());
    }
    if record.used {
        return in_grace(&state, &record, &user).await;
    }
    let (next, next_item) =
        sessions::new_refresh(&app.db.table, &c, &record.company_id, &record.user_id, &record.family);
    let mut unit = UnitOfWork::new(&app.db);
    sessions::rotate(&mut unit, &c, &req.refresh_token, &record.family);
    unit.include(next_item);
    match unit.commit().await {
        Ok(()) => Ok(Json(pair(&state, &record, &user, next).await?)),
        Err(WriteError::Refused(_)) => {
            // Another request used it a moment ago (a second tab), or the sign-in ended meanwhile.
            let now = sessions::find(app, &req.company_id, &req.refresh_token).await?.ok_or_else(invalid_refresh)?;
            in_grace(&state, &now, &user).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A used refresh token came back. Within the grace window of its rotation it is a concurrent
/// refresh and gets a pair of its own in the same sign-in; after it, someone else has a copy: the
/// whole sign-in ends.
async fn in_grace(state: &IdentityState, record: &RefreshRecord, user: &User) -> Result<Json<Session>, ApiError> {
    let app = &state.app;
    if Utc::now().timestamp_millis() - record.rotated_at_ms > sessions::GRACE_MS {
        sessions::revoke_family(app, &record.company_id, &record.family).await?;
        tracing::warn!(tenant_id = %record.company_id, "refresh token reuse: session family revoked");
        return Err(invalid_refresh());
    }
    let c = TenantKeys::new(&record.company_id);
    let (next, next_item) =
        sessions::new_refresh(&app.db.table, &c, &record.company_id, &record.user_id, &record.family);
    let mut unit = UnitOfWork::new(&app.db);
    sessions::require_alive(&mut unit, &c, &record.family);
    unit.include(next_item);
    match unit.commit().await {
        Ok(()) => Ok(Json(pair(state, record, user, next).await?)),
        Err(WriteError::Refused(_)) => Err(invalid_refresh()),
        Err(e) => Err(e.into()),
    }
}

async fn pair(
    state: &IdentityState,
    record: &RefreshRecord,
    user: &User,
    refresh: String,
) -> Result<Session, ApiError> {
    Ok(sessions::session(
        &*state.signer.issuer().await?,
        &record.company_id,
        &record.user_id,
        user.role,
        &record.family,
        refresh,
    ))
}

fn invalid_refresh() -> ApiError {
    ApiError::Unauthorized("The session has ended")
}

/// Sign out: the refresh token's whole sign-in ends, its access tokens included.
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
        let actor = TenantContext::acting(&record.company_id, &user.user_id, user.role);
        let signed_out = meta.audit(&actor, "user.sign_out", "user", &user.user_id, vec![]);
        unit.audit(&c, &signed_out)?;
    }
    unit.commit().await?;
    state.app.revocations.forget(&record.company_id, &record.user_id);
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

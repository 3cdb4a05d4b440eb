//! The permission matrix on the wire (it lives in `keel_http::permissions`).

use axum::Json;
use keel_http::{ApiError, Role, TenantContext};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RolePermissions {
    #[schema(value_type = String)]
    pub role: serde_json::Value,
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyPermissions {
    pub user_id: String,
    pub company_id: String,
    #[schema(value_type = String)]
    pub role: serde_json::Value,
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<serde_json::Value>,
}

fn json<T: Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn of(role: Role) -> Vec<serde_json::Value> {
    role.permissions().iter().map(json).collect()
}

/// Every role and what it may do.
#[utoipa::path(get, path = "/api/permissions/roles", tag = "identity",
    responses((status = 200, description = "Every role's permissions", body = Vec<RolePermissions>)),
    security(("bearer" = [])))]
pub async fn roles(_ctx: TenantContext) -> Result<Json<Vec<RolePermissions>>, ApiError> {
    Ok(Json(Role::ALL.iter().map(|r| RolePermissions { role: json(r), permissions: of(*r) }).collect()))
}

/// The caller's role and permissions.
#[utoipa::path(get, path = "/api/permissions/me", tag = "identity",
    responses((status = 200, description = "Your permissions", body = MyPermissions)),
    security(("bearer" = [])))]
pub async fn me(ctx: TenantContext) -> Result<Json<MyPermissions>, ApiError> {
    Ok(Json(MyPermissions {
        user_id: ctx.user_id.clone(),
        company_id: ctx.tenant_id.clone(),
        role: json(ctx.role),
        permissions: of(ctx.role),
    }))
}

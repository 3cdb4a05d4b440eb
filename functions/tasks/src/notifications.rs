//! `/api/companies/{company_id}/notifications`: the signed-in person's in-app notifications
//! (escalated tasks), newest first, and marking one read. The header's indicator counts the
//! unread among the latest, so it costs one `Query` and keeps no counter that could drift.

use aws_sdk_dynamodb::types::ReturnValue;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keel_http::path::record_id;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::db::{from_item, s};
use keel_store::{AttributeValue, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::repo::{self, Notification};

/// How many of the latest notifications are listed (and counted for `unread`).
const LATEST: i32 = 50;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notifications {
    pub items: Vec<Notification>,
    /// Unread among `items`.
    pub unread: usize,
}

/// Your latest notifications, newest first, with how many are unread.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/notifications",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "Your latest notifications", body = Notifications)),
    security(("bearer" = []))
)]
pub async fn list_notifications(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<Notifications>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let out = app
        .db
        .client
        .query()
        .table_name(&app.db.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :n)")
        .expression_attribute_values(":pk", s(repo::notifications_pk(keys, &ctx.user_id)))
        .expression_attribute_values(":n", s("N#"))
        .scan_index_forward(false)
        .limit(LATEST)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let items =
        out.items.unwrap_or_default().into_iter().map(from_item::<Notification>).collect::<Result<Vec<_>, _>>()?;
    let unread = items.iter().filter(|n| !n.read).count();
    Ok(Json(Notifications { items, unread }))
}

/// Mark one of your notifications read (again is harmless).
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/notifications/{notification_id}/read",
    tag = "tasks",
    params(("company_id" = Id, Path), ("notification_id" = Id, Path)),
    responses((status = 204, description = "Read")),
    security(("bearer" = []))
)]
pub async fn read_notification(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&raw)?;
    let result = app
        .db
        .client
        .update_item()
        .table_name(&app.db.table)
        .key("pk", s(repo::notifications_pk(keys, &ctx.user_id)))
        .key("sk", s(format!("N#{id}")))
        .update_expression("SET #read = :yes")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#read", "read")
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .return_values(ReturnValue::None)
        .send()
        .await;
    match result {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            Err(ApiError::NotFound)
        }
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

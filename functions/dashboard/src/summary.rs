//! `GET /api/companies/{company_id}/dashboard/summary`: one `GetItem` of the rollup.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rollup;

#[derive(Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LeadCounts {
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_source: BTreeMap<String, i64>,
    pub by_score_band: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardSummary {
    pub leads: LeadCounts,
    /// When the counters last changed (they follow events within seconds).
    pub updated_at: Option<String>,
}

/// Lead counts by status, source and score band.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/dashboard/summary",
    tag = "dashboard",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The counters", body = DashboardSummary)),
    security(("bearer" = []))
)]
pub async fn dashboard_summary(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<DashboardSummary>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let item = app.db.get(&rollup::pk(keys), rollup::SK).await?.unwrap_or_default();
    let mut leads = LeadCounts::default();
    let mut updated_at = None;
    for (name, value) in item {
        if name == "updated_at" {
            updated_at = value.as_s().ok().cloned();
            continue;
        }
        let Some(count) = value.as_n().ok().and_then(|v| v.parse::<i64>().ok()) else { continue };
        let target = match name.split_once('#') {
            None if name == "total" => {
                leads.total = count;
                continue;
            }
            Some(("status", k)) => (&mut leads.by_status, k),
            Some(("source", k)) => (&mut leads.by_source, k),
            Some(("band", k)) => (&mut leads.by_score_band, k),
            _ => continue,
        };
        if count != 0 {
            target.0.insert(target.1.to_string(), count);
        }
    }
    Ok(Json(DashboardSummary { leads, updated_at }))
}

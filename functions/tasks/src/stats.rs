//! `GET /api/companies/{company_id}/tasks/automation-stats`: per rule (tasks made by hand under
//! `manual`) and per priority they were created with — created, done, cancelled, overdue — with
//! completion and overdue rates. The counters move in the transactions that change tasks, so this
//! is one `Query` however many tasks there are.

use axum::extract::State;
use axum::Json;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::repo::{self, Counters};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskCounts {
    /// The rule's id (`manual` for tasks made by hand), or the priority.
    pub key: String,
    pub created: i64,
    pub done: i64,
    pub cancelled: i64,
    /// Went past their due time while open.
    pub overdue: i64,
    /// done / created, 0-1.
    pub completion_rate: f64,
    /// overdue / created, 0-1.
    pub overdue_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AutomationStats {
    pub by_rule: Vec<TaskCounts>,
    /// low, normal, high, urgent, in that order.
    pub by_priority: Vec<TaskCounts>,
}

fn counts(key: &str, c: &Counters) -> TaskCounts {
    let rate = |n: i64| if c.created > 0 { (n as f64 / c.created as f64).clamp(0.0, 1.0) } else { 0.0 };
    TaskCounts {
        key: key.into(),
        created: c.created,
        done: c.done,
        cancelled: c.cancelled,
        overdue: c.overdue,
        completion_rate: rate(c.done),
        overdue_rate: rate(c.overdue),
    }
}

/// How tasks do, per automation rule and per priority.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/tasks/automation-stats",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "Task statistics", body = AutomationStats)),
    security(("bearer" = []))
)]
pub async fn automation_stats(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<AutomationStats>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let buckets = repo::stats(&app.db, keys).await?;
    let by_rule = buckets.iter().filter_map(|c| Some(counts(c.sk.strip_prefix("RULE#")?, c))).collect();
    let by_priority = ["low", "normal", "high", "urgent"]
        .iter()
        .map(|p| {
            let c = buckets.iter().find(|c| c.sk == format!("PRIORITY#{p}")).cloned().unwrap_or_default();
            counts(p, &c)
        })
        .collect();
    Ok(Json(AutomationStats { by_rule, by_priority }))
}

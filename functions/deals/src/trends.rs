//! `GET /deals/trend-analysis`: month by month, won revenue, win rate, average deal size, average
//! sales cycle and pipeline created — one Query of at most 36 monthly rollup items. Amounts stay
//! per currency; nothing is converted.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{Datelike, Months, NaiveDate, Utc};
use keel_core::forecast::{Counters, TrendMonth};
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::revenue::{month_sk, trends_pk};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::repo;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendParams {
    /// Months up to and including the current one: 1-36, default 12
    #[param(minimum = 1, maximum = 36)]
    months: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendAnalysis {
    /// Oldest first; every month present, zeros where nothing happened.
    pub months: Vec<TrendMonth>,
}

/// The last `months` calendar months (UTC), oldest first.
pub fn month_keys(today: NaiveDate, months: u32) -> Vec<String> {
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).expect("a month's first day");
    (0..months)
        .rev()
        .filter_map(|back| first.checked_sub_months(Months::new(back)))
        .map(|d| d.format("%Y-%m").to_string())
        .collect()
}

/// Revenue trends per month.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/trend-analysis",
    tag = "deals",
    params(("company_id" = Id, Path), TrendParams),
    responses((status = 200, description = "The trends", body = TrendAnalysis)),
    security(("bearer" = []))
)]
pub async fn trend_analysis(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TrendAnalysis>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: TrendParams = keel_http::parse_query(raw.as_deref())?;
    let months = params.months.unwrap_or(12);
    if !(1..=36).contains(&months) {
        return Err(ApiError::field("months", "must be between 1 and 36"));
    }
    let keys_by_month = month_keys(Utc::now().date_naive(), months);
    let (first, last) =
        (keys_by_month.first().cloned().unwrap_or_default(), keys_by_month.last().cloned().unwrap_or_default());
    let items = repo::collection(&app.db, trends_pk(keys), &month_sk(&first), Some(&month_sk(&last))).await?;
    let months = keys_by_month
        .iter()
        .map(|m| {
            let sk = month_sk(m);
            let mut c = Counters::default();
            if let Some(item) = items.iter().find(|i| i.get("sk").and_then(|v| v.as_s().ok()) == Some(&sk)) {
                c.add_all(keel_store::revenue::counters(item));
            }
            c.trend(m)
        })
        .collect();
    Ok(Json(TrendAnalysis { months }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_run_back_from_the_current_one() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 2, 14).unwrap();
        assert_eq!(super::month_keys(today, 3), ["2025-12", "2026-01", "2026-02"]);
    }
}

//! `GET /deals/forecast` and `GET /deals/forecast/changes`: a quarter's forecast per category,
//! per owner and for the company, with quota attainment — now, or as of any past day — and what
//! moved between two days.
//!
//! Costs (all independent of the number of deals): now = 1 Query of one item per owner + 1 Query
//! of the quotas; as of a day = 1 Query of the period's daily change items up to that day (at most
//! one per owner and day on which the period's deals changed: a quarter's deals change over about
//! a year, so ≤ ~365 × owners small items, read in pages of 1 MB) + the quotas; changes = 1 Query
//! of the change records in the window, paged, plus the two as-of folds.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use keel_core::forecast::{parse_quarter, CategoryTotal, ChangeKind, Counters};
use keel_core::{FieldErrors, Money};
use keel_http::{query, ApiError, ApiPath, AppState, Id, Page, Pager, Permission, TenantContext};
use keel_store::db::s;
use keel_store::revenue::{self, CHANGE, DAY, MONTH, NOW};
use keel_store::{Db, SortKeyRange, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::quotas::{self, Quota};
use crate::repo;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForecastParams {
    /// A quarter: `2026-Q4`
    #[param(example = "2026-Q4")]
    period: Option<String>,
    /// One owner's forecast only
    #[param(max_length = 64)]
    owner_id: Option<String>,
    /// The forecast as it stood at the end of this day (`YYYY-MM-DD`, UTC)
    as_of: Option<String>,
}

/// Closed amount against a quota in its currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuotaAttainment {
    pub currency: String,
    pub quota_minor: i64,
    pub closed_minor: i64,
    /// closed / quota, in percent (one decimal).
    pub attainment_percent: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnerForecast {
    pub owner_id: String,
    pub categories: Vec<CategoryTotal>,
    pub quota: Option<QuotaAttainment>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ForecastReport {
    #[schema(example = "2026-Q4")]
    pub period: String,
    #[schema(value_type = String)]
    pub starts_on: NaiveDate,
    #[schema(value_type = String)]
    pub ends_on: NaiveDate,
    /// The day it answers for; None: now.
    #[schema(value_type = Option<String>)]
    pub as_of: Option<NaiveDate>,
    pub owner_id: Option<String>,
    /// The company's (or the owner's) totals per category.
    pub categories: Vec<CategoryTotal>,
    /// Attainment against the quotas set (summed per currency for the company).
    pub quota: Vec<QuotaAttainment>,
    pub owners: Vec<OwnerForecast>,
}

fn period(errors: &mut FieldErrors, raw: &Option<String>) -> Option<(String, NaiveDate, NaiveDate)> {
    match query::text(raw) {
        None => {
            errors.add("period", "is required: a quarter like 2026-Q4");
            None
        }
        Some(p) => match parse_quarter(&p) {
            Some((start, end)) => Some((p, start, end)),
            None => {
                errors.add("period", "must be a quarter like 2026-Q4");
                None
            }
        },
    }
}

pub(crate) fn day(errors: &mut FieldErrors, field: &str, raw: &Option<String>) -> Option<NaiveDate> {
    let v = query::text(raw)?;
    match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
        Ok(d) if d.year() >= 2000 && d <= Utc::now().date_naive() + Duration::days(1) => Some(d),
        Ok(_) => {
            errors.add(field, "must be a day since 2000 and not after tomorrow");
            None
        }
        Err(_) => {
            errors.add(field, "must be a date like 2026-11-01");
            None
        }
    }
}

/// Counters per owner for `period`, now or at the end of `as_of`.
async fn per_owner(
    db: &Db,
    keys: &TenantKeys,
    period: &str,
    as_of: Option<NaiveDate>,
) -> Result<BTreeMap<String, Counters>, StoreError> {
    let pk = revenue::forecast_pk(keys, period);
    let items = match as_of {
        None => repo::collection(db, pk, NOW, None).await?,
        Some(d) => {
            // The months before the day's month, whole, and that month's days up to the day.
            let first = d.with_day(1).expect("a month has a first day");
            let months = async {
                match first.pred_opt() {
                    Some(prev) => {
                        repo::collection(db, pk.clone(), MONTH, Some(&format!("{MONTH}{}#~", prev.format("%Y-%m"))))
                            .await
                    }
                    None => Ok(vec![]),
                }
            };
            let (from, until) = (format!("{DAY}{first}"), format!("{DAY}{d}#~"));
            let days = repo::collection(db, pk.clone(), &from, Some(&until));
            let (mut months, days) = tokio::try_join!(months, days)?;
            months.extend(days);
            months
        }
    };
    let mut out: BTreeMap<String, Counters> = BTreeMap::new();
    for item in &items {
        let Some(sk) = item.get("sk").and_then(|v| v.as_s().ok()) else { continue };
        let owner = match as_of {
            None => sk.strip_prefix(NOW),
            // DAY#<yyyy-mm-dd>#<owner>, MON#<yyyy-mm>#<owner>
            Some(_) => sk
                .strip_prefix(DAY)
                .or_else(|| sk.strip_prefix(MONTH))
                .and_then(|rest| rest.split_once('#'))
                .map(|(_, o)| o),
        };
        if let Some(owner) = owner {
            out.entry(owner.to_string()).or_default().add_all(revenue::counters(item));
        }
    }
    Ok(out)
}

fn attainment(quota: &Money, closed: i64) -> QuotaAttainment {
    let percent = if quota.value_minor > 0 { closed as f64 * 100.0 / quota.value_minor as f64 } else { 0.0 };
    QuotaAttainment {
        currency: quota.currency.clone(),
        quota_minor: quota.value_minor,
        closed_minor: closed,
        attainment_percent: (percent * 10.0).round() / 10.0,
    }
}

fn live(c: &Counters) -> bool {
    c.0.values().any(|v| *v != 0)
}

/// The report for `period` (the company's, or one owner's), now or as of a day.
pub(crate) async fn report(
    db: &Db,
    keys: &TenantKeys,
    (period, starts_on, ends_on): (String, NaiveDate, NaiveDate),
    owner: Option<String>,
    as_of: Option<NaiveDate>,
) -> Result<ForecastReport, ApiError> {
    let (owners, quotas) = tokio::try_join!(per_owner(db, keys, &period, as_of), quotas::of_period(db, keys, &period))?;
    let quotas: BTreeMap<String, Quota> = quotas
        .into_iter()
        .filter(|q| owner.as_deref().is_none_or(|o| o == q.owner_id))
        .map(|q| (q.owner_id.clone(), q))
        .collect();
    let mut total = Counters::default();
    let mut rows = Vec::new();
    let mut ids: Vec<&String> = owners.keys().chain(quotas.keys()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        if owner.as_deref().is_some_and(|o| o != id) {
            continue;
        }
        let counters = owners.get(id).cloned().unwrap_or_default();
        let quota = quotas.get(id);
        if !live(&counters) && quota.is_none() {
            continue;
        }
        total.add_all(counters.0.iter().map(|(k, v)| (k.as_str(), *v)));
        rows.push(OwnerForecast {
            owner_id: id.clone(),
            categories: counters.categories(),
            quota: quota.map(|q| attainment(&q.amount, counters.closed(&q.amount.currency))),
        });
    }
    let mut quota_sum: BTreeMap<String, i64> = BTreeMap::new();
    for q in quotas.values() {
        *quota_sum.entry(q.amount.currency.clone()).or_default() += q.amount.value_minor;
    }
    let quota = quota_sum
        .into_iter()
        .map(|(currency, value_minor)| {
            let closed = total.closed(&currency);
            attainment(&Money { value_minor, currency }, closed)
        })
        .collect();
    Ok(ForecastReport {
        period,
        starts_on,
        ends_on,
        as_of,
        owner_id: owner,
        categories: total.categories(),
        quota,
        owners: rows,
    })
}

/// A quarter's forecast: per category (pipeline, best case, commit, closed, and omitted for the
/// lost) the count, amount and weighted amount per currency, per owner and for the company, with
/// quota attainment; `as_of` answers what it was at the end of a past day.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/forecast",
    tag = "deals",
    params(("company_id" = Id, Path), ForecastParams),
    responses((status = 200, description = "The forecast", body = ForecastReport)),
    security(("bearer" = []))
)]
pub async fn forecast(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ForecastReport>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: ForecastParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let p = period(&mut errors, &params.period);
    let owner = query::id(&mut errors, "owner_id", &params.owner_id);
    let as_of = day(&mut errors, "as_of", &params.as_of);
    let Some(p) = p.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    Ok(Json(report(&app.db, keys, p, owner, as_of).await?))
}

/// One side of a change: what the forecast saw of the deal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeSide {
    pub stage: String,
    pub forecast_category: keel_core::opportunity::ForecastCategory,
    pub probability: u8,
    pub amount: Option<Money>,
    #[schema(value_type = String)]
    pub close_date: NaiveDate,
    pub owner_id: String,
    pub archived: bool,
}

impl From<&keel_core::forecast::DealFacts> for ChangeSide {
    fn from(f: &keel_core::forecast::DealFacts) -> Self {
        ChangeSide {
            stage: f.stage.clone(),
            forecast_category: f.forecast_category,
            probability: f.probability,
            amount: f.amount.clone(),
            close_date: f.close_date,
            owner_id: f.owner_id.clone(),
            archived: f.archived,
        }
    }
}

/// A change to a period's forecast: the deal, what happened, and what it did to the totals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForecastChange {
    pub deal_id: String,
    pub deal_name: String,
    pub kind: ChangeKind,
    pub at: chrono::DateTime<Utc>,
    pub by: String,
    pub before: Option<ChangeSide>,
    pub after: Option<ChangeSide>,
    /// The company's totals it moved, per category (counts and amounts may be negative).
    pub effect: Vec<CategoryTotal>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// A quarter: `2026-Q4`
    period: Option<String>,
    /// From the end of this day (`YYYY-MM-DD`)…
    from: Option<String>,
    /// …to the end of this one
    to: Option<String>,
    /// 1-500, default 200
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ForecastMoves {
    pub period: String,
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    /// The company's totals at the end of `from` and of `to`.
    pub totals_from: Vec<CategoryTotal>,
    pub totals_to: Vec<CategoryTotal>,
    /// Oldest first.
    pub changes: Page<ForecastChange>,
}

#[derive(Serialize)]
struct ChangesFilter<'a> {
    period: &'a str,
    from: NaiveDate,
    to: NaiveDate,
}

/// What moved a quarter's forecast between the end of `from` and the end of `to`: deals added,
/// won, lost, slipped out or pulled in, amounts, categories and stages changed — each with the
/// deal, the change and its effect on the totals.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/forecast/changes",
    tag = "deals",
    params(("company_id" = Id, Path), ChangesParams),
    responses((status = 200, description = "What moved", body = ForecastMoves)),
    security(("bearer" = []))
)]
pub async fn forecast_changes(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ForecastMoves>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: ChangesParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let p = period(&mut errors, &params.period);
    let from = day(&mut errors, "from", &params.from);
    let to = day(&mut errors, "to", &params.to);
    if params.from.is_none() {
        errors.add("from", "is required");
    }
    if params.to.is_none() {
        errors.add("to", "is required");
    }
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.add("to", "must not be before from");
        }
    }
    let limit = query::limit(&mut errors, params.limit, 200, 500);
    let (Some(p), Some(from), Some(to)) = (p, from, to) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "deals.forecast.changes", &ChangesFilter { period: &p.0, from, to });
    let start = pager.start(params.cursor.as_deref())?;
    let pk = revenue::forecast_pk(keys, &p.0);
    // Changes after the end of `from` up to the end of `to`: none when the two are the same day.
    let range = SortKeyRange::between(format!("{CHANGE}{}", from + Duration::days(1)), format!("{CHANGE}{to}T~"));
    let changes_page = async {
        let Some(range) = range else {
            return Ok((Vec::new(), None));
        };
        let out = app
            .db
            .client
            .query()
            .table_name(&app.db.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":low", s(range.low()))
            .expression_attribute_values(":high", s(range.high()))
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| ApiError::from(StoreError::from_sdk(e)))?;
        Ok::<_, ApiError>((out.items.unwrap_or_default(), out.last_evaluated_key))
    };
    let ((items, last), at_from, at_to) = tokio::try_join!(
        changes_page,
        report(&app.db, keys, p.clone(), None, Some(from)),
        report(&app.db, keys, p.clone(), None, Some(to)),
    )?;
    let changes = items
        .iter()
        .filter_map(|i| i.get("record").and_then(|v| v.as_s().ok()))
        .map(|r| serde_json::from_str::<ForecastChange>(r).map_err(|e| ApiError::Internal(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ForecastMoves {
        period: p.0,
        from,
        to,
        totals_from: at_from.categories,
        totals_to: at_to.categories,
        changes: pager.page(changes, last),
    }))
}

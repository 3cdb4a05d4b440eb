//! `GET /api/companies/{company_id}/leads`: filtered, newest first, cursor-paged.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use keel_core::{FieldErrors, Lead, LeadStatus, ScoreBand};
use keel_http::{ApiError, AppState, Page, Pager, Problem, TenantContext};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::repo::{self, ListQuery};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// new, contacted, nurturing, qualified, unqualified, converted, archived
    status: Option<String>,
    owner_id: Option<String>,
    source: Option<String>,
    /// cold, warm, hot, very_hot
    score_band: Option<String>,
    /// 1-200, default 50
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

/// What a leads cursor is bound to (besides the tenant).
#[derive(Serialize)]
struct LeadFilter<'a> {
    status: Option<&'a str>,
    owner_id: Option<&'a str>,
    source: Option<&'a str>,
    score_band: Option<&'a str>,
}

fn score_band(raw: &str) -> Option<ScoreBand> {
    [ScoreBand::Cold, ScoreBand::Warm, ScoreBand::Hot, ScoreBand::VeryHot].into_iter().find(|b| b.as_str() == raw)
}

/// Leads of the company, newest first.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads",
    tag = "leads",
    params(("company_id" = String, Path), ListParams),
    responses(
        (status = 200, description = "A page of leads", body = Page<Lead>),
        (status = 400, description = "Invalid filter or cursor", body = Problem),
        (status = 401, description = "Missing or invalid token", body = Problem),
        (status = 404, description = "Not your company", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_leads(
    State(app): State<AppState>,
    ctx: TenantContext,
    Path(company_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<Lead>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    let params: ListParams = keel_http::parse_query(query.as_deref())?;
    let mut errors = FieldErrors::default();
    let empty_to_none = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let status = empty_to_none(&params.status);
    if let Some(s) = &status {
        if LeadStatus::parse(s).is_none() {
            errors
                .add("status", "must be one of new, contacted, nurturing, qualified, unqualified, converted, archived");
        }
    }
    let band = empty_to_none(&params.score_band);
    if let Some(b) = &band {
        if score_band(b).is_none() {
            errors.add("score_band", "must be one of cold, warm, hot, very_hot");
        }
    }
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (owner, source) = (empty_to_none(&params.owner_id), empty_to_none(&params.source));
    let filter = LeadFilter {
        status: status.as_deref(),
        owner_id: owner.as_deref(),
        source: source.as_deref(),
        score_band: band.as_deref(),
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "leads", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let (items, last) = repo::list(
        &app.db,
        keys,
        ListQuery {
            status: status.as_deref(),
            owner_id: owner.as_deref(),
            source: source.as_deref(),
            score_band: band.as_deref(),
            limit: limit as i32,
            start,
        },
    )
    .await?;
    Ok(Json(pager.page(items, last)))
}

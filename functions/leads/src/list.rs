//! `GET /api/companies/{company_id}/leads`: filtered, newest first, cursor-paged.

use axum::extract::{RawQuery, State};
use axum::Json;
use keel_core::{FieldErrors, Lead, LeadStatus, ScoreBand};
use keel_http::{query, ApiError, ApiPath, AppState, Id, Page, Pager, Permission, TenantContext};
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
    #[param(max_length = 64)]
    owner_id: Option<String>,
    source: Option<String>,
    /// cold, warm, hot, very_hot
    score_band: Option<String>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
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
    params(("company_id" = Id, Path), ListParams),
    responses((status = 200, description = "A page of leads", body = Page<Lead>)),
    security(("bearer" = []))
)]
pub async fn list_leads(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<Lead>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: ListParams = keel_http::parse_query(query.as_deref())?;
    let mut errors = FieldErrors::default();
    let status = query::text(&params.status);
    if let Some(s) = &status {
        if LeadStatus::parse(s).is_none() {
            errors
                .add("status", "must be one of new, contacted, nurturing, qualified, unqualified, converted, archived");
        }
    }
    let band = query::text(&params.score_band);
    if let Some(b) = &band {
        if score_band(b).is_none() {
            errors.add("score_band", "must be one of cold, warm, hot, very_hot");
        }
    }
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    let (owner, source) = (query::id(&mut errors, "owner_id", &params.owner_id), query::text(&params.source));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
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

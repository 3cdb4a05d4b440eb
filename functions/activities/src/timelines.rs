//! `GET …/{leads|customers|contacts|deals}/{id}/timeline`: what happened with a record, newest
//! first by when it happened, optionally of one type. One `Query` of the record's collection per
//! page (its `ACT#` entries), however many records each activity relates to. An id that is no
//! record of the company has an empty timeline.

use axum::extract::{RawQuery, State};
use axum::Json;
use keel_core::activity::{Activity, RecordKind};
use keel_core::FieldErrors;
use keel_http::path::record_id;
use keel_http::{query, ApiError, ApiPath, AppState, Id, Page, Pager, Permission, TenantContext};
use keel_store::crm;
use keel_store::db;
use keel_store::index_page::{page, IndexPage, TABLE};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::activities::activity_type;

const DEFAULT_LIMIT: u32 = 25;
const MAX_LIMIT: u32 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// call, email, meeting, note, task, whatsapp, stage_change, system
    #[serde(rename = "type")]
    #[param(rename = "type")]
    activity_type: Option<String>,
    /// 1-100, default 25
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

#[derive(Serialize)]
struct TimelineFilter<'a> {
    kind: &'a str,
    id: &'a str,
    activity_type: Option<&'a str>,
}

async fn timeline(
    app: &AppState,
    ctx: &TenantContext,
    company_id: &Id,
    kind: RecordKind,
    raw_id: &Id,
    raw_query: Option<&str>,
) -> Result<Json<Page<Activity>>, ApiError> {
    let keys = ctx.company(company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(raw_id)?;
    let params: TimelineParams = keel_http::parse_query(raw_query)?;
    let mut errors = FieldErrors::default();
    let t = activity_type(&mut errors, &params.activity_type).map(|t| t.as_str());
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = TimelineFilter { kind: kind.as_str(), id, activity_type: t };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "timeline", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let q = IndexPage {
        equals: t.map(|t| vec![("type", t)]).unwrap_or_default(),
        start,
        descending: true,
        ..IndexPage::collection(TABLE, crm::record_pk(keys, kind, id), Some(crm::TIMELINE), limit as i32)
    };
    let (items, last) = page(&app.db, q).await?;
    let entries = items.into_iter().map(db::from_item::<Activity>).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(pager.page(entries, last)))
}

/// A lead's timeline.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/timeline",
    tag = "activities",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path), TimelineParams),
    responses((status = 200, description = "A page of the timeline, newest first", body = Page<Activity>)),
    security(("bearer" = []))
)]
pub async fn lead_timeline(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, id)): ApiPath<(Id, Id)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Activity>>, ApiError> {
    timeline(&app, &ctx, &company_id, RecordKind::Lead, &id, raw.as_deref()).await
}

/// An account's timeline (a converted lead's history included).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/customers/{account_id}/timeline",
    tag = "activities",
    params(("company_id" = Id, Path), ("account_id" = Id, Path), TimelineParams),
    responses((status = 200, description = "A page of the timeline, newest first", body = Page<Activity>)),
    security(("bearer" = []))
)]
pub async fn account_timeline(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, id)): ApiPath<(Id, Id)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Activity>>, ApiError> {
    timeline(&app, &ctx, &company_id, RecordKind::Account, &id, raw.as_deref()).await
}

/// A contact's timeline (the lead's history included when it came from a conversion).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/contacts/{contact_id}/timeline",
    tag = "activities",
    params(("company_id" = Id, Path), ("contact_id" = Id, Path), TimelineParams),
    responses((status = 200, description = "A page of the timeline, newest first", body = Page<Activity>)),
    security(("bearer" = []))
)]
pub async fn contact_timeline(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, id)): ApiPath<(Id, Id)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Activity>>, ApiError> {
    timeline(&app, &ctx, &company_id, RecordKind::Contact, &id, raw.as_deref()).await
}

/// A deal's timeline.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/{deal_id}/timeline",
    tag = "activities",
    params(("company_id" = Id, Path), ("deal_id" = Id, Path), TimelineParams),
    responses((status = 200, description = "A page of the timeline, newest first", body = Page<Activity>)),
    security(("bearer" = []))
)]
pub async fn deal_timeline(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, id)): ApiPath<(Id, Id)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Activity>>, ApiError> {
    timeline(&app, &ctx, &company_id, RecordKind::Deal, &id, raw.as_deref()).await
}

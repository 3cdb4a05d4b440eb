//! `/api/companies/{company_id}/deals`: create a deal on an account, read, list, edit with
//! versions, archive (managers). Deals are never deleted: an archived deal leaves lists, the board
//! and forecasts, and stays readable.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{NaiveDate, Utc};
use keel_core::activity::RecordKind;
use keel_core::deal::{archive, DealPatch, NewDeal};
use keel_core::opportunity::{Opportunity, OpportunityContact, OpportunityStatus};
use keel_core::FieldErrors;
use keel_events::{Actor, DealChanged, Envelope};
use keel_http::path::record_id;
use keel_http::version::{expected, versioned};
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Page, Pager, Permission,
    RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::{crm, db, revenue, Db, Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::IntoParams;

use crate::repo::{self, IndexPage};

pub(crate) fn actor(ctx: &TenantContext) -> Actor {
    Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() }
}

pub(crate) fn answer(status: StatusCode, deal: Opportunity, location: Option<String>) -> Response {
    versioned(status, deal.version, deal, location)
}

/// A stale write answered with the version the deal is at now.
pub(crate) async fn stale(db: &Db, keys: &TenantKeys, id: &str) -> ApiError {
    match repo::deal(db, keys, id).await {
        Ok(d) => ApiError::Stale { current_version: d.map(|d| d.version) },
        Err(e) => e.into(),
    }
}

/// Every named contact belongs to the deal's account (parallel GetItems, at most 20).
async fn require_contacts(
    db: &Db,
    keys: &TenantKeys,
    account_id: &str,
    contacts: &[OpportunityContact],
) -> Result<(), ApiError> {
    let reads = contacts.iter().map(|c| repo::contact_account(db, keys, &c.contact_id));
    let found = futures::future::try_join_all(reads).await?;
    let mut e = FieldErrors::default();
    for (i, owner) in found.iter().enumerate() {
        if owner.as_deref() != Some(account_id) {
            e.add(&format!("contacts[{i}].contact_id"), "is not a contact of the deal's account");
        }
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Rule(e))
    }
}

/// Create a deal on an account. It starts in an open stage with the stage's probability and
/// forecast category unless told otherwise. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/deals",
    tag = "deals",
    params(("company_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewDeal,
    responses(
        (status = 201, description = "Deal created", body = Opportunity,
            headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Role may not create deals, or not for another owner"),
        (status = 422, description = "The account, a contact, the pipeline, the owner or the source lead does not qualify"),
    ),
    security(("bearer" = []))
)]
pub async fn create_deal(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewDeal>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "deals.create", &ctx.user_id, &body.raw)?;
    let input = body.value;
    let now = Utc::now();
    let pipeline_id = input.pipeline_id().to_string();
    if !keel_http::path::is_id(&pipeline_id) {
        return Err(ApiError::field("pipeline_id", "must be a pipeline's id"));
    }
    let pipeline = repo::pipeline(&app.db, keys, &pipeline_id)
        .await?
        .ok_or_else(|| ApiError::rule("pipeline_id", "no pipeline of your company has this id"))?;
    let deal = input.validate(&pipeline, Ulid::new(), &ctx.user_id, now).map_err(ApiError::Validation)?;
    ctx.require_edit(&ctx.user_id, &deal.owner_id)?;
    let (account, _, _, _) = tokio::try_join!(
        keel_http::accounts::joinable(&app.db, keys, &deal.account_id),
        require_contacts(&app.db, keys, &deal.account_id, &deal.contacts),
        async {
            match &deal.source_lead_id {
                Some(lead) => match app.db.get(&keys.lead(lead), crm::record_sk(RecordKind::Lead)).await? {
                    Some(_) => Ok(()),
                    None => Err(ApiError::rule("source_lead_id", "no lead of your company has this id")),
                },
                None => Ok(()),
            }
        },
        async {
            if deal.owner_id != ctx.user_id {
                keel_http::owners::require_active(&app.db, keys, &deal.owner_id, "owner_id").await
            } else {
                Ok(())
            }
        },
    )?;
    let id = deal.id.to_string();
    let location = format!("/api/companies/{company_id}/deals/{id}");
    let body = serde_json::to_vec(&deal).map_err(|e| ApiError::Internal(e.to_string()))?;
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 201, &body, now);
    unit.create(crm::opportunity_item(keys, &deal)?);
    unit.include(db::put(&table, crm::opportunity_summary_item(keys, &deal)?));
    unit.include_guarded(
        revenue::enter_slot(&table, keys, &deal.pipeline_id, &deal.stage),
        "stage",
        "the stage was just removed from the pipeline",
    );
    unit.include_guarded(
        revenue::account_open_deals(&table, keys, &account.id.to_string(), 1),
        "account_id",
        "no account of your company has this id",
    );
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &DealChanged::of("created", None, &deal, vec![])))?;
    let changes = AuditRecord::diff(None, &deal.as_json(), &Opportunity::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "deal.create", "deal", &id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::CREATED, deal, Some(location))),
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let deal: Opportunity = idempotent.replayed(&app.db, keys, now).await?;
            let location = format!("/api/companies/{company_id}/deals/{}", deal.id);
            Ok(answer(StatusCode::CREATED, deal, Some(location)))
        }
        Err(e) => Err(e.into()),
    }
}

/// One deal (archived ones too).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/{deal_id}",
    tag = "deals",
    params(("company_id" = Id, Path), ("deal_id" = Id, Path)),
    responses((status = 200, description = "The deal", body = Opportunity, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_deal(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let deal = repo::deal(&app.db, keys, record_id(&raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(answer(StatusCode::OK, deal, None))
}

/// Edit a deal. Send the version you read (`If-Match` or `version`); a stale one is a 409 with
/// the current version. Stages move through `move-stage`; a closed deal keeps its amount, close
/// date, probability and category; an archived one no longer changes (422).
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/deals/{deal_id}",
    tag = "deals",
    params(("company_id" = Id, Path), ("deal_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = DealPatch,
    responses(
        (status = 200, description = "The updated deal", body = Opportunity, headers(("ETag" = String))),
        (status = 403, description = "Role may not edit this deal, or not give it to another owner"),
        (status = 422, description = "Closed or archived, a contact not of the account, or the owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn update_deal(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<DealPatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let patch = body.value;
    let version = expected(&headers, patch.version)?;
    keel_http::owners::refuse_blank(patch.owner_id.as_deref())?;
    let current = repo::deal(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    let new_owner = patch.owner_id.as_deref().map(str::trim).unwrap_or(&current.owner_id).to_string();
    ctx.require_edit(&current.owner_id, &new_owner)?;
    let now = Utc::now();
    let next = patch
        .apply(&current, now)
        .map_err(|(e, rule)| if rule { ApiError::Rule(e) } else { ApiError::Validation(e) })?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Opportunity::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(answer(StatusCode::OK, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let added: Vec<OpportunityContact> = next
        .contacts
        .iter()
        .filter(|c| !current.contacts.iter().any(|o| o.contact_id == c.contact_id))
        .cloned()
        .collect();
    tokio::try_join!(require_contacts(&app.db, keys, &current.account_id, &added), async {
        if new_owner != current.owner_id && new_owner != ctx.user_id {
            keel_http::owners::require_active(&app.db, keys, &new_owner, "owner_id").await
        } else {
            Ok(())
        }
    })?;
    let mut next = next;
    next.version = current.version + 1;
    let changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(crm::opportunity_item(keys, &next)?, current.version);
    unit.include(db::put(&table, crm::opportunity_summary_item(keys, &next)?));
    let event = DealChanged::of("updated", Some(&current), &next, changed);
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &event))?;
    unit.audit(keys, &meta.audit(&ctx, "deal.update", "deal", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app.db, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

/// Archive a deal (managers): it leaves lists, the board and forecasts, and stays readable. An
/// open deal no longer counts among its account's open opportunities. Archiving an archived deal
/// answers it as it is.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/deals/{deal_id}",
    tag = "deals",
    params(("company_id" = Id, Path), ("deal_id" = Id, Path)),
    responses(
        (status = 200, description = "The archived deal", body = Opportunity, headers(("ETag" = String))),
        (status = 403, description = "Only managers and administrators archive deals"),
        (status = 409, description = "Changed concurrently: read it again and retry"),
    ),
    security(("bearer" = []))
)]
pub async fn archive_deal(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    let current = repo::deal(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    if current.is_archived() {
        return Ok(answer(StatusCode::OK, current, None));
    }
    let now = Utc::now();
    let mut next = archive(&current, now);
    next.version = current.version + 1;
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(crm::opportunity_item(keys, &next)?, current.version);
    unit.include(db::delete(
        &table,
        crm::account_pk(keys, &current.account_id),
        format!("{}{}", crm::DEAL_SUMMARY, current.id),
    ));
    unit.include(revenue::leave_slot(&table, keys, &current.pipeline_id, &current.stage));
    if current.status == OpportunityStatus::Open {
        unit.include_guarded(
            revenue::account_open_deals(&table, keys, &current.account_id, -1),
            "account_id",
            "the deal's account no longer exists",
        );
    }
    let event = DealChanged::of("archived", Some(&current), &next, vec!["archived_at".into()]);
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &event))?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Opportunity::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "deal.archive", "deal", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => Err(stale(&app.db, keys, id).await),
        Err(e) => Err(e.into()),
    }
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealListParams {
    /// A stage key: the deals in it, by close date (of `pipeline_id`, default `default`)
    #[param(max_length = 40)]
    stage: Option<String>,
    /// The pipeline's deals (with `stage`: that pipeline's stage)
    #[param(max_length = 64)]
    pipeline_id: Option<String>,
    #[param(max_length = 64)]
    owner_id: Option<String>,
    #[param(max_length = 64)]
    account_id: Option<String>,
    /// pipeline, best_case, commit, closed, omitted
    forecast_category: Option<String>,
    /// Close date on or after (`YYYY-MM-DD`)
    close_from: Option<String>,
    /// Close date on or before (`YYYY-MM-DD`)
    close_to: Option<String>,
    /// `true`: the archived deals instead
    archived: Option<bool>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

#[derive(Serialize)]
struct DealFilter<'a> {
    stage: Option<&'a str>,
    pipeline: &'a str,
    pipeline_only: Option<&'a str>,
    owner: Option<&'a str>,
    account: Option<&'a str>,
    category: Option<&'a str>,
    from: &'a str,
    to: &'a str,
    archived: bool,
}

const CATEGORIES: [&str; 5] = ["pipeline", "best_case", "commit", "closed", "omitted"];

fn date(errors: &mut FieldErrors, field: &str, raw: &Option<String>) -> Option<NaiveDate> {
    let v = query::text(raw)?;
    match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(field, "must be a date like 2026-12-31");
            None
        }
    }
}

/// The company's deals, newest first; filtered by stage (then by close date), owner, account,
/// forecast category and close date range. Archived deals only with `archived=true`.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals",
    tag = "deals",
    params(("company_id" = Id, Path), DealListParams),
    responses((status = 200, description = "A page of deals", body = Page<Opportunity>)),
    security(("bearer" = []))
)]
pub async fn list_deals(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Opportunity>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: DealListParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let stage = query::text(&params.stage);
    if stage.as_deref().is_some_and(|s| !keel_http::path::is_id(s)) {
        errors.add("stage", "must be a stage key");
    }
    let pipeline_filter = query::id(&mut errors, "pipeline_id", &params.pipeline_id);
    let pipeline = pipeline_filter.clone().unwrap_or_else(|| keel_core::pipeline::DEFAULT_PIPELINE.into());
    let owner = query::id(&mut errors, "owner_id", &params.owner_id);
    let account = query::id(&mut errors, "account_id", &params.account_id);
    let category = query::text(&params.forecast_category);
    if category.as_deref().is_some_and(|c| !CATEGORIES.contains(&c)) {
        errors.add("forecast_category", "must be one of pipeline, best_case, commit, closed, omitted");
    }
    let from = date(&mut errors, "close_from", &params.close_from);
    let to = date(&mut errors, "close_to", &params.close_to);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.add("close_to", "must not be before close_from");
        }
    }
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let archived = params.archived.unwrap_or(false);
    let (from, to) = (
        from.map(|d| d.to_string()).unwrap_or_else(|| "0000-01-01".into()),
        to.map(|d| d.to_string()).unwrap_or_else(|| "9999-12-31".into()),
    );
    // With a stage the index already holds one pipeline's column; without, the pipeline filters.
    let pipeline_only = if stage.is_none() { pipeline_filter.as_deref() } else { None };
    let filter = DealFilter {
        stage: stage.as_deref(),
        pipeline: &pipeline,
        pipeline_only,
        owner: owner.as_deref(),
        account: account.as_deref(),
        category: category.as_deref(),
        from: &from,
        to: &to,
        archived,
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "deals", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let mut equals = Vec::new();
    for (attr, value) in [
        ("owner_id", owner.as_deref()),
        ("account_id", account.as_deref()),
        ("forecast_category", category.as_deref()),
        ("pipeline_id", pipeline_only),
    ] {
        if let Some(v) = value {
            equals.push((attr, v));
        }
    }
    let between = if from != "0000-01-01" || to != "9999-12-31" {
        vec![("close_date", from.as_str(), to.as_str())]
    } else {
        vec![]
    };
    let (index, partition, descending) = match (&stage, archived) {
        (Some(s), false) => ("gsi2", crm::deals_by_stage_index(keys, &pipeline, s), false),
        (Some(s), true) => {
            equals.push(("stage", s.as_str()));
            ("gsi1", crm::deals_index(keys, true), true)
        }
        (None, a) => ("gsi1", crm::deals_index(keys, a), true),
    };
    let q = IndexPage {
        index,
        partition,
        prefix: None,
        range: None,
        equals,
        not_equals: vec![],
        contains: vec![],
        between,
        limit: limit as i32,
        start,
        descending,
    };
    let (items, last) = repo::page(&app.db, q).await?;
    let deals = items.into_iter().map(db::from_item::<Opportunity>).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(pager.page(deals, last)))
}

//! `/api/companies/{company_id}/customers`: create, read, list and update accounts. Accounts are
//! never deleted: `DELETE` answers 405 pointing to the `inactive` lifecycle.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use keel_core::account::{health, name_key, Account, AccountHealth, AccountPatch, AccountType, Lifecycle, NewAccount};
use keel_core::FieldErrors;
use keel_events::{AccountChanged, Actor, Envelope};
use keel_http::version::{expected, versioned};
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Page, Pager, Permission,
    RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::crm;
use keel_store::db;
use keel_store::{Refusal, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use crate::repo::{self, IndexPage};
use keel_http::path::record_id;

pub(crate) fn actor(ctx: &TenantContext) -> Actor {
    Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() }
}

/// An account with its health, as the API answers it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Account,
    pub health: AccountHealth,
}

impl AccountView {
    pub fn of(account: Account) -> Self {
        let health = health(&account, Utc::now());
        AccountView { account, health }
    }
}

fn with_etag(status: StatusCode, account: Account, location: Option<String>) -> Response {
    versioned(status, account.version, AccountView::of(account), location)
}

/// Create an account. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/customers",
    tag = "customers",
    params(("company_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewAccount,
    responses(
        (status = 201, description = "Account created", body = AccountView,
            headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Role may not create accounts, or not for another owner"),
        (status = 422, description = "The owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn create_account(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewAccount>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "customers.create", &ctx.user_id, &body.raw)?;
    let draft = body.value.validate().map_err(ApiError::Validation)?;
    let owner = draft.owner_id.clone().unwrap_or_else(|| ctx.user_id.clone());
    ctx.require_edit(&ctx.user_id, &owner)?;
    if owner != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &owner, "owner_id").await?;
    }
    let now = Utc::now();
    let account = Account::create(draft, Ulid::new(), &ctx.user_id, now);
    let id = account.id.to_string();
    let location = format!("/api/companies/{company_id}/customers/{id}");
    let body = serde_json::to_vec(&AccountView::of(account.clone())).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 201, &body, now);
    unit.create(crm::account_item(keys, &account)?);
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &AccountChanged::created(&account)))?;
    let changes = AuditRecord::diff(None, &account.as_json(), &Account::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "account.create", "account", &id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(with_etag(StatusCode::CREATED, account, Some(location))),
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let view: AccountView = idempotent.replayed(&app.db, keys, now).await?;
            let location = format!("/api/companies/{company_id}/customers/{}", view.account.id);
            Ok(with_etag(StatusCode::CREATED, view.account, Some(location)))
        }
        Err(e) => Err(e.into()),
    }
}

/// One account with its health score and the factors behind it.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/customers/{account_id}",
    tag = "customers",
    params(("company_id" = Id, Path), ("account_id" = Id, Path)),
    responses((status = 200, description = "The account", body = AccountView, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_account(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let account = repo::account(&app.db, keys, record_id(&raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(with_etag(StatusCode::OK, account, None))
}

/// Edit an account. Send the version you read (`If-Match` or `version`); a stale one is a 409.
/// `lifecycle` moves by the rules (prospect → customer → churned → customer; any → inactive;
/// inactive → prospect); any other move is a 422 naming the allowed ones.
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/customers/{account_id}",
    tag = "customers",
    params(("company_id" = Id, Path), ("account_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = AccountPatch,
    responses(
        (status = 200, description = "The updated account", body = AccountView, headers(("ETag" = String))),
        (status = 403, description = "Role may not edit this account, or not give it to another owner"),
        (status = 422, description = "Lifecycle move not allowed, or the owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn update_account(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<AccountPatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let patch = body.value;
    let version = expected(&headers, patch.version)?;
    let current = repo::account(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    keel_http::owners::refuse_blank(patch.owner_id.as_deref())?;
    let new_owner = patch.owner_id.as_deref().map(str::trim).unwrap_or(&current.owner_id).to_string();
    ctx.require_edit(&current.owner_id, &new_owner)?;
    let now = Utc::now();
    let next = current.patched(&patch, now).map_err(|e| {
        if e.0.iter().any(|x| x.field == "lifecycle") {
            ApiError::Rule(e)
        } else {
            ApiError::Validation(e)
        }
    })?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Account::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(with_etag(StatusCode::OK, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    if new_owner != current.owner_id && new_owner != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &new_owner, "owner_id").await?;
    }
    let changed = changes.iter().map(|c| c.field.clone()).collect();
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(crm::account_item(keys, &next)?, current.version);
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &AccountChanged::updated(&current, &next, changed)))?;
    unit.audit(keys, &meta.audit(&ctx, "account.update", "account", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(with_etag(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: repo::account(&app.db, keys, id).await?.map(|a| a.version) })
        }
        Err(e) => Err(e.into()),
    }
}

/// Accounts are never deleted: this answers 405 with a problem pointing to deactivation
/// (`PATCH` with `lifecycle: inactive`), which keeps the account's history readable.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/customers/{account_id}",
    tag = "customers",
    params(("company_id" = Id, Path), ("account_id" = Id, Path)),
    responses(
        (status = 403, description = "Role may not change accounts it does not own"),
        (status = 405, description = "Accounts are never deleted; set lifecycle to inactive",
            body = keel_http::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_account(
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    record_id(&raw)?;
    Err(ApiError::NeverDeleted(
        "Accounts are never deleted. Set its lifecycle to inactive (PATCH with \"lifecycle\": \"inactive\"): it leaves the default lists and its history stays.",
    ))
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    /// prospect, customer, churned, inactive (without it, inactive accounts are left out)
    lifecycle: Option<String>,
    /// prospect, customer, partner, reseller, other
    #[serde(rename = "type")]
    #[param(rename = "type")]
    account_type: Option<String>,
    #[param(max_length = 64)]
    owner_id: Option<String>,
    industry: Option<String>,
    /// Accounts whose name starts with this (legal forms like "Ltd" ignored)
    #[param(max_length = 200)]
    name: Option<String>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

#[derive(Serialize)]
struct AccountFilter<'a> {
    lifecycle: Option<&'a str>,
    account_type: Option<&'a str>,
    owner_id: Option<&'a str>,
    industry: Option<&'a str>,
    name: &'a str,
}

const TYPES: [(&str, AccountType); 5] = [
    ("prospect", AccountType::Prospect),
    ("customer", AccountType::Customer),
    ("partner", AccountType::Partner),
    ("reseller", AccountType::Reseller),
    ("other", AccountType::Other),
];

/// The company's accounts by name (inactive ones only when asked for by lifecycle).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/customers",
    tag = "customers",
    params(("company_id" = Id, Path), AccountListParams),
    responses((status = 200, description = "A page of accounts with their health, by name", body = Page<AccountView>)),
    security(("bearer" = []))
)]
pub async fn list_accounts(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<AccountView>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: AccountListParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let lifecycle = query::text(&params.lifecycle);
    if lifecycle.as_deref().is_some_and(|l| Lifecycle::parse(l).is_none()) {
        errors.add("lifecycle", "must be one of prospect, customer, churned, inactive");
    }
    let account_type = query::text(&params.account_type);
    if account_type.as_deref().is_some_and(|t| !TYPES.iter().any(|(n, _)| *n == t)) {
        errors.add("type", "must be one of prospect, customer, partner, reseller, other");
    }
    let owner = query::id(&mut errors, "owner_id", &params.owner_id);
    let industry = query::text(&params.industry);
    let name = query::text(&params.name).map(|n| name_key(&n)).unwrap_or_default();
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = AccountFilter {
        lifecycle: lifecycle.as_deref(),
        account_type: account_type.as_deref(),
        owner_id: owner.as_deref(),
        industry: industry.as_deref(),
        name: &name,
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "customers", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let mut equals = Vec::new();
    for (attr, value) in
        [("type", account_type.as_deref()), ("owner_id", owner.as_deref()), ("industry", industry.as_deref())]
    {
        if let Some(v) = value {
            equals.push((attr, v));
        }
    }
    let (index, partition, not_equals) = match lifecycle.as_deref() {
        Some(l) => ("gsi2", crm::accounts_by_lifecycle_index(keys, l), vec![]),
        None => ("gsi1", crm::accounts_index(keys), vec![("lifecycle", "inactive")]),
    };
    let q = IndexPage {
        index,
        partition,
        prefix: Some(&name),
        range: None,
        equals,
        not_equals,
        contains: vec![],
        limit: limit as i32,
        start,
        between: vec![],
        descending: false,
    };
    let (items, last) = repo::page(&app.db, q).await?;
    let accounts =
        items.into_iter().map(|i| db::from_item::<Account>(i).map(AccountView::of)).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(pager.page(accounts, last)))
}

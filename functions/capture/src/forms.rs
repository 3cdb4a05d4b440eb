//! `/api/companies/{company_id}/forms`: the company's website forms (managers and administrators
//! keep them; everyone reads them). A form's public key is written beside it, in the same
//! transaction, with a copy of the form: a submission reads that one item.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use keel_core::form::{Form, FormPatch, NewForm, OwnerRule, MAX_FORMS};
use keel_http::path::record_id;
use keel_http::version::{expected, versioned};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::db::{delete, put_new};
use keel_store::{Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::store::{self, form_key_pk, key_item, random_key, FORM_KEY_SK};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Forms {
    pub items: Vec<Form>,
}

/// The company's forms, oldest first.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/forms",
    tag = "capture",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The forms", body = Forms)),
    security(("bearer" = []))
)]
pub async fn list_forms(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<Forms>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    Ok(Json(Forms { items: store::forms(&app.db, keys).await? }))
}

async fn require_owner(app: &AppState, keys: &TenantKeys, owner: &OwnerRule) -> Result<(), ApiError> {
    if let OwnerRule::User { user_id } = owner {
        keel_http::owners::require_lead_owner(&app.db, keys, user_id, "owner.user_id").await?;
    }
    Ok(())
}

/// Add a form (managers). Its `key` is what the page posts to; a company keeps at most 100.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/forms",
    tag = "capture",
    params(("company_id" = Id, Path)),
    request_body = NewForm,
    responses(
        (status = 201, description = "Form added", body = Form, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Not a manager"),
        (status = 422, description = "The company has 100 forms already"),
    ),
    security(("bearer" = []))
)]
pub async fn create_form(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<NewForm>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let form =
        body.value.validate(Ulid::new(), random_key(), &ctx.user_id, Utc::now()).map_err(ApiError::Validation)?;
    require_owner(&app, keys, &form.owner).await?;
    if store::forms(&app.db, keys).await?.len() >= MAX_FORMS {
        return Err(ApiError::rule("forms", "a company keeps at most 100 forms"));
    }
    let id = form.id.to_string();
    let mut unit = UnitOfWork::new(&app.db);
    unit.create(store::form_item(keys, &form)?);
    unit.include(put_new(unit.table(), key_item(form_key_pk(&form.key), FORM_KEY_SK, keys, &form)?));
    let changes = AuditRecord::diff(None, &form.as_json(), &Form::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "capture.form.create", "form", &id, changes))?;
    unit.commit().await?;
    let location = format!("/api/companies/{company_id}/forms/{id}");
    Ok(versioned(StatusCode::CREATED, form.version, form, Some(location)))
}

async fn form(app: &AppState, keys: &TenantKeys, id: &str) -> Result<Form, ApiError> {
    store::form(&app.db, keys, id).await?.ok_or(ApiError::NotFound)
}

/// One form.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/forms/{form_id}",
    tag = "capture",
    params(("company_id" = Id, Path), ("form_id" = Id, Path)),
    responses((status = 200, description = "The form", body = Form, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_form(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let current = form(&app, keys, record_id(&raw)?).await?;
    Ok(versioned(StatusCode::OK, current.version, current, None))
}

/// Change a form (managers; send the version you read). `rotate_key: true` takes a fresh public
/// key, and the old one stops working at once (pages must be given the new snippet).
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/forms/{form_id}",
    tag = "capture",
    params(("company_id" = Id, Path), ("form_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = FormPatch,
    responses(
        (status = 200, description = "The form", body = Form, headers(("ETag" = String))),
        (status = 403, description = "Not a manager"),
    ),
    security(("bearer" = []))
)]
pub async fn update_form(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<FormPatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    let version = expected(&headers, body.value.version)?;
    let current = form(&app, keys, id).await?;
    let mut next = body.value.apply(&current, random_key(), Utc::now()).map_err(ApiError::Validation)?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Form::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(versioned(StatusCode::OK, current.version, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    if next.owner != current.owner {
        require_owner(&app, keys, &next.owner).await?;
    }
    next.version = current.version + 1;
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(store::form_item(keys, &next)?, current.version);
    let table = unit.table().to_string();
    if next.key != current.key {
        unit.include(delete(&table, form_key_pk(&current.key), FORM_KEY_SK.into()));
    }
    // The key's copy of the form follows every change (the submission reads only the copy).
    unit.include(keel_store::db::put(&table, key_item(form_key_pk(&next.key), FORM_KEY_SK, keys, &next)?));
    unit.audit(keys, &meta.audit(&ctx, "capture.form.update", "form", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(versioned(StatusCode::OK, next.version, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: Some(form(&app, keys, id).await?.version) })
        }
        Err(e) => Err(e.into()),
    }
}

/// Delete a form (managers; send the version you read). Its key stops working; the leads it
/// brought stay.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/forms/{form_id}",
    tag = "capture",
    params(("company_id" = Id, Path), ("form_id" = Id, Path),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not a manager")),
    security(("bearer" = []))
)]
pub async fn delete_form(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    let current = match form(&app, keys, id).await {
        Err(ApiError::NotFound) => return Ok(StatusCode::NO_CONTENT.into_response()),
        other => other?,
    };
    if expected(&headers, None)? != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let mut unit = UnitOfWork::new(&app.db);
    unit.delete(store::forms_pk(keys), &store::form_sk(id), current.version);
    let table = unit.table().to_string();
    unit.include(delete(&table, form_key_pk(&current.key), FORM_KEY_SK.into()));
    let changes = AuditRecord::diff(Some(&current.as_json()), &serde_json::json!({}), &Form::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "capture.form.delete", "form", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(WriteError::Refused(Refusal::Stale)) => match form(&app, keys, id).await {
            Err(ApiError::NotFound) => Ok(StatusCode::NO_CONTENT.into_response()),
            Ok(now) => Err(ApiError::Stale { current_version: Some(now.version) }),
            Err(e) => Err(e),
        },
        Err(e) => Err(e.into()),
    }
}

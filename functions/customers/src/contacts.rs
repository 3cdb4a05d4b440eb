//! `/api/companies/{company_id}/contacts`: the people of accounts. A contact always belongs to an
//! account; each account has one primary contact, switched atomically (the account, the new and
//! the old primary move in one transaction, each guarded by its version). Moving a contact to
//! another account keeps its history; deleting one is for managers and leaves its activities on
//! the account.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::account::Account;
use keel_core::contact::{Contact, ContactPatch, ContactRole, NewContact};
use keel_core::FieldErrors;
use keel_events::{ContactChanged, Envelope};
use keel_http::version::{expected, versioned};
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Page, Pager, Permission,
    RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::crm;
use keel_store::db;
use keel_store::{Db, Refusal, StoreError, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::IntoParams;

use crate::accounts::actor;
use crate::repo::{self, IndexPage};
use keel_http::path::record_id;

/// Attempts when the account changes between reading it and writing (another contact joined).
const ATTEMPTS: usize = 3;

fn answer(status: StatusCode, contact: Contact, location: Option<String>) -> Response {
    versioned(status, contact.version, contact, location)
}

fn summary_sk(id: &str) -> String {
    format!("{}{id}", crm::CONTACT_SUMMARY)
}

/// An account after contacts joined or left it.
fn touched(account: &Account, now: DateTime<Utc>, change: impl FnOnce(&mut Account)) -> Account {
    let mut next = account.clone();
    change(&mut next);
    next.version += 1;
    next.updated_at = now;
    next
}

/// The account's current primary contact, demoted (None when there is none, or it is `except`).
async fn demoted(
    db: &Db,
    keys: &TenantKeys,
    account: &Account,
    except: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Contact, Contact)>, StoreError> {
    let Some(old) = account.primary_contact_id.as_deref().filter(|id| *id != except) else { return Ok(None) };
    let Some(current) = repo::contact(db, keys, old).await? else { return Ok(None) };
    let mut next = current.clone();
    next.primary = false;
    next.version += 1;
    next.updated_at = now;
    Ok(Some((current, next)))
}

/// Who is writing, for the audit records of the records a contact change touches.
struct Writer<'a> {
    ctx: &'a TenantContext,
    meta: &'a RequestMeta,
    keys: &'a TenantKeys,
}

impl Writer<'_> {
    /// The account as it will be (guarded by the version read), with an audit record when a field
    /// people see moved (its primary contact; counters are not audited).
    fn account(&self, unit: &mut UnitOfWork<'_>, before: &Account, after: &Account) -> Result<(), StoreError> {
        unit.replace(crm::account_item(self.keys, after)?, before.version);
        let changes = AuditRecord::diff(Some(&before.as_json()), &after.as_json(), &Account::RECORDED_FIELDS);
        if !changes.is_empty() {
            let id = after.id.to_string();
            unit.audit(self.keys, &self.meta.audit(self.ctx, "account.update", "account", &id, changes))?;
        }
        Ok(())
    }

    /// The account's previous primary contact, demoted, with its summary and audit record.
    fn demotion(&self, unit: &mut UnitOfWork<'_>, demotion: &Option<(Contact, Contact)>) -> Result<(), StoreError> {
        if let Some((before, after)) = demotion {
            unit.replace(crm::contact_item(self.keys, after)?, before.version);
            let table = unit.table().to_string();
            unit.include(db::put(&table, crm::contact_summary_item(self.keys, after)?));
            let changes = AuditRecord::diff(Some(&before.as_json()), &after.as_json(), &Contact::RECORDED_FIELDS);
            let id = after.id.to_string();
            unit.audit(self.keys, &self.meta.audit(self.ctx, "contact.update", "contact", &id, changes))?;
        }
        Ok(())
    }
}

/// Taking the primary role from another contact changes the account: only people who may edit
/// the account do it (an account without a primary contact takes its first one from anyone).
fn may_replace_primary(ctx: &TenantContext, account: &Account, contact_id: &str) -> Result<(), ApiError> {
    match account.primary_contact_id.as_deref() {
        Some(current) if current != contact_id => ctx.require_edit(&account.owner_id, &account.owner_id),
        _ => Ok(()),
    }
}

fn changed_event(
    c: &Contact,
    change: &str,
    previous_account_id: Option<String>,
    changed: Vec<String>,
) -> ContactChanged {
    ContactChanged {
        contact_id: c.id.to_string(),
        account_id: c.account_id.clone(),
        change: change.into(),
        previous_account_id,
        primary: c.primary,
        changed,
    }
}

/// Add a contact to an account. The account's first contact is its primary contact; `primary:
/// true` makes a new one primary instead of the current one.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/contacts",
    tag = "contacts",
    params(("company_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewContact,
    responses(
        (status = 201, description = "Contact created", body = Contact, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Role may not create contacts, or not for another owner"),
        (status = 409, description = "The account kept changing; try again"),
        (status = 422, description = "The account does not exist or is inactive, or the owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn create_contact(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<NewContact>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "contacts.create", &ctx.user_id, &body.raw)?;
    let draft = body.value.validate().map_err(ApiError::Validation)?;
    let owner = draft.owner_id.clone().unwrap_or_else(|| ctx.user_id.clone());
    ctx.require_edit(&ctx.user_id, &owner)?;
    if owner != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &owner, "owner_id").await?;
    }
    let id = Ulid::new();
    for _ in 0..ATTEMPTS {
        let account = keel_http::accounts::joinable(&app.db, keys, &draft.account_id).await?;
        let now = Utc::now();
        let mut contact = Contact::create(draft.clone(), id, &ctx.user_id, now);
        contact.primary = draft.primary || account.primary_contact_id.is_none();
        if contact.primary {
            may_replace_primary(&ctx, &account, &id.to_string())?;
        }
        let demotion =
            if contact.primary { demoted(&app.db, keys, &account, &id.to_string(), now).await? } else { None };
        let next_account = touched(&account, now, |a| {
            a.contact_count += 1;
            if contact.primary {
                a.primary_contact_id = Some(id.to_string());
            }
        });
        let response = serde_json::to_vec(&contact).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut unit = UnitOfWork::new(&app.db);
        idempotent.record(&mut unit, keys, 201, &response, now);
        unit.create(crm::contact_item(keys, &contact)?);
        unit.create(crm::contact_summary_item(keys, &contact)?);
        let writer = Writer { ctx: &ctx, meta: &meta, keys };
        writer.account(&mut unit, &account, &next_account)?;
        writer.demotion(&mut unit, &demotion)?;
        unit.event(&Envelope::new(
            &ctx.tenant_id,
            actor(&ctx),
            now,
            &changed_event(&contact, "created", None, vec![]),
        ))?;
        let changes = AuditRecord::diff(None, &contact.as_json(), &Contact::RECORDED_FIELDS);
        unit.audit(keys, &meta.audit(&ctx, "contact.create", "contact", &id.to_string(), changes))?;
        match unit.commit().await {
            Ok(()) => {
                let location = format!("/api/companies/{company_id}/contacts/{id}");
                return Ok(answer(StatusCode::CREATED, contact, Some(location)));
            }
            Err(WriteError::Refused(Refusal::KeyUsed)) => {
                let contact: Contact = idempotent.replayed(&app.db, keys, now).await?;
                let location = format!("/api/companies/{company_id}/contacts/{}", contact.id);
                return Ok(answer(StatusCode::CREATED, contact, Some(location)));
            }
            Err(WriteError::Refused(Refusal::Stale)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Stale { current_version: None })
}

/// One contact.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/contacts/{contact_id}",
    tag = "contacts",
    params(("company_id" = Id, Path), ("contact_id" = Id, Path)),
    responses((status = 200, description = "The contact", body = Contact, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_contact(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let contact = repo::contact(&app.db, keys, record_id(&raw)?).await?.ok_or(ApiError::NotFound)?;
    Ok(answer(StatusCode::OK, contact, None))
}

/// Edit a contact (send the version you read). Another `account_id` moves it, with its history;
/// `primary: true` makes it its account's primary contact (the previous one stops being it).
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/contacts/{contact_id}",
    tag = "contacts",
    params(("company_id" = Id, Path), ("contact_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "The updated contact", body = Contact, headers(("ETag" = String))),
        (status = 403, description = "Role may not edit this contact, or not give it to another owner"),
        (status = 422, description = "The primary contact cannot stop being primary in place; the account is missing or inactive"),
    ),
    security(("bearer" = []))
)]
pub async fn update_contact(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<ContactPatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let patch = body.value;
    let version = expected(&headers, patch.version)?;
    let current = repo::contact(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    keel_http::owners::refuse_blank(patch.owner_id.as_deref())?;
    let now = Utc::now();
    let mut next = current.patched(&patch, now).map_err(ApiError::Validation)?;
    ctx.require_edit(&current.owner_id, &next.owner_id)?;
    let moving = next.account_id != current.account_id;
    if current.primary && !next.primary && !moving {
        return Err(ApiError::rule(
            "primary",
            "an account always has a primary contact: make another of its contacts primary instead",
        ));
    }
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Contact::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(answer(StatusCode::OK, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    if next.owner_id != current.owner_id && next.owner_id != ctx.user_id {
        keel_http::owners::require_active(&app.db, keys, &next.owner_id, "owner_id").await?;
    }
    let old_account = repo::account(&app.db, keys, &current.account_id).await?.ok_or(ApiError::NotFound)?;
    let mut unit = UnitOfWork::new(&app.db);
    let table = unit.table().to_string();
    let writer = Writer { ctx: &ctx, meta: &meta, keys };
    let demotion;
    if moving {
        let new_account = keel_http::accounts::joinable(&app.db, keys, &next.account_id).await?;
        next.primary = patch.primary == Some(true) || new_account.primary_contact_id.is_none();
        if next.primary {
            may_replace_primary(&ctx, &new_account, id)?;
        }
        demotion = if next.primary { demoted(&app.db, keys, &new_account, id, now).await? } else { None };
        let left = touched(&old_account, now, |a| {
            a.contact_count = a.contact_count.saturating_sub(1);
            if a.primary_contact_id.as_deref() == Some(id) {
                a.primary_contact_id = None;
            }
        });
        let joined = touched(&new_account, now, |a| {
            a.contact_count += 1;
            if next.primary {
                a.primary_contact_id = Some(id.to_string());
            }
        });
        unit.include(db::delete(&table, crm::account_pk(keys, &current.account_id), summary_sk(id)));
        writer.account(&mut unit, &old_account, &left)?;
        writer.account(&mut unit, &new_account, &joined)?;
    } else {
        let promoted = next.primary && !current.primary;
        if promoted {
            may_replace_primary(&ctx, &old_account, id)?;
        }
        demotion = if promoted { demoted(&app.db, keys, &old_account, id, now).await? } else { None };
        if promoted {
            let account = touched(&old_account, now, |a| a.primary_contact_id = Some(id.to_string()));
            writer.account(&mut unit, &old_account, &account)?;
        }
    }
    // What changed, as written (a move decides the primary flag anew).
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Contact::RECORDED_FIELDS);
    unit.replace(crm::contact_item(keys, &next)?, current.version);
    unit.include(db::put(&table, crm::contact_summary_item(keys, &next)?));
    writer.demotion(&mut unit, &demotion)?;
    let changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
    let event = if moving {
        changed_event(&next, "moved", Some(current.account_id.clone()), changed)
    } else {
        changed_event(&next, "updated", None, changed)
    };
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &event))?;
    unit.audit(keys, &meta.audit(&ctx, "contact.update", "contact", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: repo::contact(&app.db, keys, id).await?.map(|c| c.version) })
        }
        Err(e) => Err(e.into()),
    }
}

/// Delete a contact (managers and administrators). The audit trail keeps what it was; its
/// activities stay on the account's timeline. A primary contact leaves its account without one
/// until another is made primary.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/contacts/{contact_id}",
    tag = "contacts",
    params(("company_id" = Id, Path), ("contact_id" = Id, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Only managers and administrators delete contacts"),
        (status = 409, description = "The contact or its account changed meanwhile"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_contact(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
) -> Result<StatusCode, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    for _ in 0..ATTEMPTS {
        let Some(contact) = repo::contact(&app.db, keys, id).await? else {
            // Already gone (a retried delete): the outcome asked for holds.
            return Ok(StatusCode::NO_CONTENT);
        };
        let account = repo::account(&app.db, keys, &contact.account_id).await?.ok_or(ApiError::NotFound)?;
        let now = Utc::now();
        let left = touched(&account, now, |a| {
            a.contact_count = a.contact_count.saturating_sub(1);
            if a.primary_contact_id.as_deref() == Some(id) {
                a.primary_contact_id = None;
            }
        });
        let mut unit = UnitOfWork::new(&app.db);
        let table = unit.table().to_string();
        unit.delete(crm::contact_pk(keys, id), crm::CONTACT_SK, contact.version);
        unit.include(db::delete(&table, crm::account_pk(keys, &contact.account_id), summary_sk(id)));
        Writer { ctx: &ctx, meta: &meta, keys }.account(&mut unit, &account, &left)?;
        let mut gone = contact.clone();
        gone.primary = false;
        unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &changed_event(&gone, "deleted", None, vec![])))?;
        let changes = AuditRecord::diff(Some(&contact.as_json()), &serde_json::json!({}), &Contact::RECORDED_FIELDS);
        unit.audit(keys, &meta.audit(&ctx, "contact.delete", "contact", id, changes))?;
        match unit.commit().await {
            Ok(()) => return Ok(StatusCode::NO_CONTENT),
            Err(WriteError::Refused(Refusal::Stale)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Stale { current_version: None })
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactListParams {
    /// Only this account's contacts
    #[param(max_length = 64)]
    account_id: Option<String>,
    /// decision_maker, influencer, champion, end_user, technical, executive
    role: Option<String>,
    #[param(max_length = 64)]
    owner_id: Option<String>,
    /// Contacts whose last name starts with this
    #[param(max_length = 100)]
    name: Option<String>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
}

#[derive(Serialize)]
struct ContactFilter<'a> {
    account_id: Option<&'a str>,
    role: Option<&'a str>,
    owner_id: Option<&'a str>,
    name: &'a str,
}

/// Contacts by last name, of the company or of one account.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/contacts",
    tag = "contacts",
    params(("company_id" = Id, Path), ContactListParams),
    responses((status = 200, description = "A page of contacts, by name", body = Page<Contact>)),
    security(("bearer" = []))
)]
pub async fn list_contacts(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Contact>>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: ContactListParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let account = query::id(&mut errors, "account_id", &params.account_id);
    let role = query::text(&params.role);
    let role_ok = role.as_deref().map(|r| serde_json::from_value::<ContactRole>(serde_json::json!(r)).is_ok());
    if role_ok == Some(false) {
        errors.add("role", "must be one of decision_maker, influencer, champion, end_user, technical, executive");
    }
    let owner = query::id(&mut errors, "owner_id", &params.owner_id);
    let name = query::text(&params.name).map(|n| keel_core::account::name_key(&n)).unwrap_or_default();
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = ContactFilter {
        account_id: account.as_deref(),
        role: role.as_deref(),
        owner_id: owner.as_deref(),
        name: &name,
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "contacts", &filter);
    let start = pager.start(params.cursor.as_deref())?;
    let (index, partition) = match account.as_deref() {
        Some(a) => ("gsi2", crm::contacts_of_account_index(keys, a)),
        None => ("gsi1", crm::contacts_index(keys)),
    };
    let equals = owner.as_deref().map(|o| vec![("owner_id", o)]).unwrap_or_default();
    let contains = role.as_deref().map(|r| vec![("roles", r)]).unwrap_or_default();
    let q = IndexPage {
        index,
        partition,
        prefix: Some(&name),
        range: None,
        equals,
        not_equals: vec![],
        contains,
        limit: limit as i32,
        start,
        between: vec![],
        descending: false,
    };
    let (items, last) = repo::page(&app.db, q).await?;
    let contacts = items.into_iter().map(db::from_item::<Contact>).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(pager.page(contacts, last)))
}

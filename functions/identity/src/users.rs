//! `/api/companies/{company_id}/users`: the company's users. Everyone reads the list (to assign
//! records); administrators add users, change roles and deactivate. An added user is invited by
//! email and chooses their own password through the link: nobody else ever knows it, and until
//! the link is used the email's membership of the company signs nobody in. The company always keeps at
//! least one active administrator: the company item counts them, and every change that would take
//! the count below one fails its condition in the same transaction.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use keel_core::FieldErrors;
use keel_http::{
    ApiError, ApiJson, ApiPath, CompanyScope, Id, IdempotentCreate, Permission, RequestMeta, Role, TenantContext,
};
use keel_store::audit::{AuditRecord, FieldChange};
use keel_store::db::{from_item, n, s};
use keel_store::{Refusal, StoreError, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::IdentityState;
use crate::mail::{escape, Letter};
use crate::records::{
    add_new_user, company_pk, email_field, keyed, name, reset_pk, user_pk, LinkPurpose, ResetRecord, User,
};
use crate::sessions;

/// A user as others see it (never the password hash).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub user_id: String,
    pub email: String,
    pub full_name: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub active: bool,
    /// Invited and not yet signed up: no password chosen through the invitation link so far.
    pub invitation_pending: bool,
    pub created_at: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            user_id: u.user_id,
            email: u.email,
            full_name: u.full_name,
            role: u.role,
            active: u.active,
            invitation_pending: u.password_hash.is_empty(),
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// The company's users.
#[utoipa::path(get, path = "/api/companies/{company_id}/users", tag = "identity", params(("company_id" = Id, Path)),
    responses((status = 200, description = "The company's users", body = UserList)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<IdentityState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<UserList>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let out = state
        .app
        .db
        .client
        .query()
        .table_name(&state.app.db.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk")
        .expression_attribute_values(":pk", s(keys.key("USERS")))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|i| from_item::<User>(i).map(UserView::from))
        .collect::<Result<_, _>>()?;
    // A company has tens of users, not thousands: one page holds them (1 MB of items).
    Ok(Json(UserList { items, next_cursor: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: Option<String>,
    full_name: Option<String>,
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
}

/// Whether `user` counts among the company's active administrators: an invited one does once they
/// have accepted (before that nobody can sign in as them to administer anything).
pub(crate) fn counts_as_admin(user: &User) -> bool {
    user.active && user.role == Role::Admin && !user.password_hash.is_empty()
}

pub(crate) fn admins_change(table: &str, keys: &TenantKeys, by: i64) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(company_pk(keys)))
        .key("sk", s("COMPANY"))
        .update_expression("ADD active_admins :by")
        .expression_attribute_values(":by", n(by));
    if by < 0 {
        // Never below one active administrator.
        update = update.condition_expression("active_admins > :one").expression_attribute_values(":one", n(1));
    } else {
        update = update.condition_expression("attribute_exists(pk)");
    }
    TransactWriteItem::builder().update(update.build().expect("key and expression are set")).build()
}

/// The roles a company's users may have (platform operators are made only by `keel-dev operator`).
const COMPANY_ROLES: &str = "must be one of admin, manager, sales_rep, viewer";
const LAST_ADMIN: &str = "the company needs at least one active administrator";

/// How long an invitation link works.
pub const INVITATION_TTL_SECONDS: i64 = 7 * 24 * 60 * 60;

/// Add a user (administrators): they are emailed an invitation to choose their password.
#[utoipa::path(post, path = "/api/companies/{company_id}/users", tag = "identity",
    params(("company_id" = Id, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NewUser,
    responses((status = 201, description = "The new user", body = UserView),
        (status = 403, description = "Not an administrator"),
        (status = 409, description = "Email already a user here")),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<IdentityState>,
    CompanyScope(ctx): CompanyScope,
    meta: RequestMeta,
    ApiPath(company_id): ApiPath<Id>,
    headers: HeaderMap,
    body: ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let keys = ctx.company(&company_id)?.clone();
    ctx.require(Permission::ManageUsers)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "users.create", &ctx.user_id, &body.raw)?;
    // Every invitation is mail in the company's name: a company sends a bounded number an hour
    // (a retry counts as an attempt).
    crate::guard::take_all(&state.app.db, &[(crate::guard::INVITATIONS, &company_id)]).await?;
    let r = body.value;
    let mut e = FieldErrors::default();
    let full_name = name(&mut e, "full_name", r.full_name.as_deref());
    let email = email_field(&mut e, r.email.as_deref());
    let role = r.role.unwrap_or(Role::SalesRep);
    if !Role::ALL.contains(&role) {
        e.add("role", COMPANY_ROLES);
    }
    let (Some(full_name), Some(email)) = (full_name, email) else { return Err(ApiError::Validation(e)) };
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    let user_id = ulid::Ulid::new().to_string();
    let user = User {
        user_id: user_id.clone(),
        company_id: company_id.to_string(),
        email: email.to_string(),
        full_name,
        role,
        active: true,
        tokens_valid_after_ms: 0,
        password_hash: String::new(),
        created_at: Utc::now().to_rfc3339(),
    };
    let (invitation, link) = invitation_link(&company_id, &user_id)?;
    let change = |f: &str, v: &str| FieldChange { field: f.into(), before: serde_json::Value::Null, after: v.into() };
    let record = meta.audit(
        &ctx,
        "user.create",
        "user",
        &user_id,
        vec![change("email", &user.email), change("full_name", &user.full_name), change("role", role.as_str())],
    );
    let view = UserView::from(user.clone());
    let response = serde_json::to_vec(&view).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut unit = UnitOfWork::new(&state.app.db);
    add_new_user(&mut unit, &keys, &user)?;
    unit.create(link);
    unit.audit(&keys, &record)?;
    let now = Utc::now();
    idempotent.record(&mut unit, &keys, 201, &response, now);
    match unit.commit().await {
        Ok(()) => {
            // The user exists either way: when the mail cannot go out now, an administrator
            // sends the invitation again.
            let _ = invite(&state, &ctx, &user, &invitation).await;
            Ok((StatusCode::CREATED, Json(view)))
        }
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let view = idempotent.replayed(&state.app.db, &keys, now).await?;
            Ok((StatusCode::CREATED, Json(view)))
        }
        Err(e) => Err(e.into()),
    }
}

/// A new invitation link for a user: its token and the item that stores it.
fn invitation_link(company_id: &str, user_id: &str) -> Result<(String, keel_store::Item), ApiError> {
    let token = sessions::random_token();
    let link = ResetRecord {
        company_id: company_id.to_string(),
        user_id: user_id.to_string(),
        used: false,
        expires_at: (Utc::now() + chrono::Duration::seconds(INVITATION_TTL_SECONDS)).timestamp(),
        purpose: LinkPurpose::Invitation,
        issued_at_ms: Utc::now().timestamp_millis(),
    };
    Ok((token.clone(), keyed(&link, reset_pk(&sessions::token_hash(&token)), "RESET", "password_link")?))
}

/// Mails `user` their invitation, from the administrator `ctx` in their company's name.
async fn invite(state: &IdentityState, ctx: &TenantContext, user: &User, token: &str) -> Result<(), ApiError> {
    let db = &state.app.db;
    let (inviter, company) = tokio::try_join!(
        crate::records::read_user(db, &ctx.tenant_id, &ctx.user_id),
        crate::records::read_company(db, &ctx.tenant_id)
    )?;
    let inviter = inviter.map(|u| u.full_name).unwrap_or_else(|| "An administrator".into());
    let company = company.map(|c| c.name).unwrap_or_else(|| "your company".into());
    let link = state.mailer.link("accept-invitation", token);
    let letter = Letter {
        subject: format!("{inviter} invited you to {company} on Keel"),
        text: format!(
            "Hello {},\n\n{inviter} added you to {company} on Keel CRM. Choose your password to sign in:\n\n{link}\n\n\
             The link works for 7 days, once.\n",
            user.full_name
        ),
        html: format!(
            "<p>Hello {},</p><p>{} added you to {} on Keel CRM.</p><p><a href=\"{link}\">Choose your password and sign \
             in</a>.</p><p>The link works for 7 days, once.</p>",
            escape(&user.full_name),
            escape(&inviter),
            escape(&company)
        ),
    };
    state.mailer.send(&user.email, letter).await
}

/// Send a user's invitation again (administrators): a fresh link, for someone who has not chosen a
/// password yet; earlier links keep working until used or expired.
#[utoipa::path(post, path = "/api/companies/{company_id}/users/{user_id}/invitation", tag = "identity",
    params(("company_id" = Id, Path), ("user_id" = Id, Path)),
    responses((status = 202, description = "A fresh invitation is on its way", body = UserView),
        (status = 403, description = "Not an administrator"),
        (status = 422, description = "The user is deactivated or has accepted an invitation already")),
    security(("bearer" = [])))]
pub async fn resend_invitation(
    State(state): State<IdentityState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, user_id)): ApiPath<(Id, Id)>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let keys = ctx.company(&company_id)?.clone();
    ctx.require(Permission::ManageUsers)?;
    let db = &state.app.db;
    let user: User = db.get_as(&user_pk(&keys, &user_id), "USER").await?.ok_or(ApiError::NotFound)?;
    let refuse = |why: &str| ApiError::rule("user_id", why);
    if !user.active {
        return Err(refuse("is deactivated: reactivate them first"));
    }
    if !user.password_hash.is_empty() {
        return Err(refuse("has accepted an invitation already: they can reset their password from the sign-in page"));
    }
    // The company's own invitation limits: nothing here reveals or touches the email's other mail.
    let resends = format!("{company_id}|{user_id}");
    crate::guard::take_all(db, &[(crate::guard::INVITATIONS, &company_id), (crate::guard::RESENDS, &resends)]).await?;
    let (token, link) = invitation_link(&company_id, &user_id)?;
    let mut unit = UnitOfWork::new(db);
    unit.create(link);
    unit.commit().await?;
    invite(&state, &ctx, &user, &token).await?;
    Ok((StatusCode::ACCEPTED, Json(user.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
    active: Option<bool>,
}

/// Change a user's role or deactivate / reactivate them (administrators).
#[utoipa::path(patch, path = "/api/companies/{company_id}/users/{user_id}", tag = "identity",
    params(("company_id" = Id, Path), ("user_id" = Id, Path)), request_body = UserChange,
    responses((status = 200, description = "The user as changed", body = UserView),
        (status = 403, description = "Not an administrator"),
        (status = 409, description = "Changed concurrently: read it again and retry"),
        (status = 422, description = "Would leave no active administrator")),
    security(("bearer" = [])))]
pub async fn update_user(
    State(state): State<IdentityState>,
    CompanyScope(ctx): CompanyScope,
    meta: RequestMeta,
    ApiPath((company_id, user_id)): ApiPath<(Id, Id)>,
    body: ApiJson<UserChange>,
) -> Result<Json<UserView>, ApiError> {
    let keys = ctx.company(&company_id)?.clone();
    ctx.require(Permission::ManageUsers)?;
    let table = &state.app.db.table;
    let current: User = state.app.db.get_as(&user_pk(&keys, &user_id), "USER").await?.ok_or(ApiError::NotFound)?;
    let mut next = current.clone();
    if let Some(role) = body.value.role {
        if !Role::ALL.contains(&role) {
            return Err(ApiError::field("role", COMPANY_ROLES));
        }
        next.role = role;
    }
    if let Some(active) = body.value.active {
        next.active = active;
    }
    let (was_admin, is_admin) = (counts_as_admin(&current), counts_as_admin(&next));
    let mut changes = Vec::new();
    if next.role != current.role {
        changes.push(FieldChange {
            field: "role".into(),
            before: current.role.as_str().into(),
            after: next.role.as_str().into(),
        });
    }
    if next.active != current.active {
        changes.push(FieldChange { field: "active".into(), before: current.active.into(), after: next.active.into() });
    }
    if changes.is_empty() {
        return Ok(Json(current.into()));
    }
    // An invited user has no tokens yet: a role change leaves their invitation working; only a
    // deactivation voids it (and every token of a signed-up user).
    let invited = current.password_hash.is_empty();
    let valid_after =
        if invited && next.active { current.tokens_valid_after_ms } else { Utc::now().timestamp_millis() };
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(user_pk(&keys, &user_id)))
        .key("sk", s("USER"))
        // Tokens issued before this change stop working (role and active are in every token's
        // standing); the user signs in or refreshes to get a token with the new role.
        .update_expression("SET #role = :role, active = :active, tokens_valid_after_ms = :valid_after")
        // As read, accepted invitation included: whether the user counts as an administrator
        // depends on all three, and the count changes in this same transaction.
        .condition_expression(if current.password_hash.is_empty() {
            "#role = :was_role AND active = :was_active AND (attribute_not_exists(password_hash) OR password_hash = :was_hash)"
        } else {
            "#role = :was_role AND active = :was_active AND password_hash = :was_hash"
        })
        .expression_attribute_values(":was_hash", s(&current.password_hash))
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":role", s(next.role.as_str()))
        .expression_attribute_values(":active", aws_sdk_dynamodb::types::AttributeValue::Bool(next.active))
        .expression_attribute_values(":was_role", s(current.role.as_str()))
        .expression_attribute_values(":was_active", aws_sdk_dynamodb::types::AttributeValue::Bool(current.active))
        .expression_attribute_values(":valid_after", n(valid_after))
        .build()
        .expect("key and expressions are set");
    let action = if next.active != current.active && !next.active { "user.deactivate" } else { "user.update" };
    let record: AuditRecord = meta.audit(&ctx, action, "user", &user_id, changes);
    let mut unit = UnitOfWork::new(&state.app.db);
    unit.include_entity(TransactWriteItem::builder().update(update).build()).audit(&keys, &record)?;
    match (was_admin, is_admin) {
        (true, false) => unit.include_guarded(admins_change(table, &keys, -1), "role", LAST_ADMIN),
        (false, true) => {
            unit.include_guarded(admins_change(table, &keys, 1), "company", "the company no longer exists")
        }
        _ => &mut unit,
    };
    unit.commit().await?;
    state.app.revocations.forget(&company_id, &user_id);
    Ok(Json(next.into()))
}

//! Passwords after sign-up: change (the current password required) and reset by email (a
//! single-use, expiring link per company, stored only as its hash). Either one ends every session
//! of the user — refresh families and access tokens alike, through `tokens_valid_after_ms` — and
//! starts a fresh one for the person who just proved themselves.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Duration, Utc};
use futures::future::try_join_all;
use keel_core::Email;
use keel_http::{ApiError, ApiJson, RequestMeta, TenantContext};
use keel_store::db::{n, s};
use keel_store::{StoreError, TenantKeys, UnitOfWork};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::IdentityState;
use crate::mail::{escape, Letter};
use crate::records::{
    add_membership, keyed, memberships, read_company, read_user, reset_pk, use_once, user_pk, Company, LinkPurpose,
    ResetRecord, User,
};
use crate::sessions::{self, Session};
use crate::users::{admins_change, counts_as_admin};
use crate::{guard, password};
use keel_store::window_limit as limits;

/// How long a reset link works.
pub const RESET_TTL_SECONDS: i64 = 60 * 60;
/// A reset request is answered no sooner than this, mail or no mail (SES answers well within it).
const ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(600);

/// Sets `user`'s password hash and voids every token issued before now, if the stored hash is
/// still the one this request read (a concurrent change wins, this one is refused).
fn new_password(table: &str, user: &User, hash: &str, now_ms: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(user_pk(&TenantKeys::new(&user.company_id), &user.user_id)))
        .key("sk", s("USER"))
        .update_expression("SET password_hash = :new, tokens_valid_after_ms = :now")
        // As read: the same password, still active, in the same role (an accepted invitation may
        // count the user among the company's administrators in the same transaction).
        .condition_expression("password_hash = :old AND active = :t AND #role = :role")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":role", s(user.role.as_str()))
        .expression_attribute_values(":new", s(hash))
        .expression_attribute_values(":old", s(&user.password_hash))
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .expression_attribute_values(":now", n(now_ms))
        .build()
        .expect("key and expressions are set");
    TransactWriteItem::builder().update(update).build()
}

/// Every token issued before `after_ms` is void; the new session's must come later.
async fn after(after_ms: i64) {
    while Utc::now().timestamp_millis() <= after_ms {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// Commits the password change in `unit` with a fresh sign-in for `user`, and answers its session.
async fn with_fresh_session(
    state: &IdentityState,
    mut unit: UnitOfWork<'_>,
    user: &User,
    now_ms: i64,
) -> Result<Session, ApiError> {
    let c = TenantKeys::new(&user.company_id);
    after(now_ms).await;
    let (family, refresh, item) = sessions::start(&state.app.db.table, &c, &user.company_id, &user.user_id);
    unit.include(item);
    unit.commit().await?;
    state.app.revocations.forget(&user.company_id, &user.user_id);
    Ok(sessions::session(&*state.signer.issuer().await?, &user.company_id, &user.user_id, user.role, &family, refresh))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Change your password. Every other session ends; this one continues with the new tokens returned.
#[utoipa::path(post, path = "/api/auth/password", tag = "identity", request_body = PasswordChange,
    responses((status = 200, description = "Changed; a fresh session", body = Session),
        (status = 409, description = "The password was changed meanwhile"),
        (status = 422, description = "The current password is not right, or the new one is too weak")),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<IdentityState>,
    ctx: TenantContext,
    meta: RequestMeta,
    body: ApiJson<PasswordChange>,
) -> Result<Json<Session>, ApiError> {
    let db = &state.app.db;
    let user: User = db.get_as(&user_pk(&ctx.keys, &ctx.user_id), "USER").await?.ok_or(ApiError::NotFound)?;
    // A stolen access token must not become a way to guess the password: wrong answers count
    // (and lock) exactly as failed sign-ins do.
    guard::admit_sign_in(db, &user.email, &meta.source_ip).await?;
    let PasswordChange { current_password, new_password: chosen } = body.value;
    if !password::matches_one(current_password, &user.password_hash).await? {
        guard::record_failure(db, &user.email, &meta.source_ip).await?;
        return Err(ApiError::rule("current_password", "is not right"));
    }
    if let Some(why) = password::weakness(&chosen, &user.email) {
        return Err(ApiError::field("new_password", why));
    }
    let hash = password::hash_apart(chosen).await?;
    let now_ms = Utc::now().timestamp_millis();
    let record = meta.audit(&ctx, "user.password_change", "user", &user.user_id, vec![]);
    let mut unit = UnitOfWork::new(db);
    unit.include_guarded(
        new_password(&db.table, &user, &hash, now_ms),
        "current_password",
        "was changed meanwhile: sign in again",
    )
    .audit(&ctx.keys, &record)?;
    Ok(Json(with_fresh_session(&state, unit, &user, now_ms).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    email: String,
}

/// Where a reset link would go (the same answer whether or not the email has an account).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResetPending {
    pub email: String,
    /// Seconds a link works.
    pub expires_in: i64,
}

/// Ask for a password reset link. If the email belongs to users, they get one link per company;
/// the answer never says whether it does.
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "identity", request_body = ResetRequest,
    responses((status = 202, description = "If the email has an account, a link is on its way", body = ResetPending),
        (status = 429, description = "Too many requests from this address or for this email")))]
pub async fn request_reset(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<ResetPending>), ApiError> {
    let started = std::time::Instant::now();
    let email = Email::parse(&body.value.email).map_err(|m| ApiError::field("email", m))?;
    let db = &state.app.db;
    let address = guard::source(&meta.source_ip);
    guard::take_all(db, &[(guard::ADDRESS_RESETS, &address)]).await?;
    let pending = ResetPending { email: email.to_string(), expires_in: RESET_TTL_SECONDS };
    let memberships = memberships(db, email.as_str()).await?;
    let found = try_join_all(memberships.iter().map(|m| async move {
        let (user, company) =
            tokio::try_join!(read_user(db, &m.company_id, &m.user_id), read_company(db, &m.company_id))?;
        Ok::<_, StoreError>(user.filter(|u| u.active).zip(company))
    }))
    .await?;
    let accounts: Vec<(User, Company)> = found.into_iter().flatten().collect();
    if accounts.is_empty() || limits::take(db, guard::RESET_MAIL, email.as_str()).await?.is_err() {
        // As long as a request that mailed someone: the answer's timing tells nothing either.
        guard::even_out(started, ANSWER_FLOOR).await;
        return Ok((StatusCode::ACCEPTED, Json(pending)));
    }
    let expires_at = (Utc::now() + Duration::seconds(RESET_TTL_SECONDS)).timestamp();
    let mut unit = UnitOfWork::new(db);
    let mut links = Vec::new();
    for (user, company) in &accounts {
        let token = sessions::random_token();
        let record = ResetRecord {
            company_id: user.company_id.clone(),
            user_id: user.user_id.clone(),
            used: false,
            expires_at,
            purpose: LinkPurpose::Reset,
            issued_at_ms: Utc::now().timestamp_millis(),
        };
        unit.create(keyed(&record, reset_pk(&sessions::token_hash(&token)), "RESET", "password_reset")?);
        links.push((company.name.clone(), state.mailer.link("reset-password", &token)));
    }
    unit.commit().await?;
    state.mailer.send(email.as_str(), reset_letter(&accounts[0].0.full_name, &links)).await?;
    guard::even_out(started, ANSWER_FLOOR).await;
    Ok((StatusCode::ACCEPTED, Json(pending)))
}

fn reset_letter(name: &str, links: &[(String, String)]) -> Letter {
    let text_links: String = links.iter().map(|(company, link)| format!("{company}: {link}\n")).collect();
    let html_links: String =
        links.iter().map(|(company, link)| format!("<li><a href=\"{link}\">{}</a></li>", escape(company))).collect();
    Letter {
        subject: "Reset your Keel password".into(),
        text: format!(
            "Hello {name},\n\nSomeone asked to reset your Keel CRM password. To choose a new one, open the link \
             for your company:\n\n{text_links}\nLinks work for an hour, once. Resetting signs you out everywhere. \
             If it was not you, ignore this email: your password stays as it is.\n"
        ),
        html: format!(
            "<p>Hello {},</p><p>Someone asked to reset your Keel CRM password. To choose a new one, open the link for \
             your company:</p><ul>{html_links}</ul><p>Links work for an hour, once. Resetting signs you out everywhere. \
             If it was not you, ignore this email: your password stays as it is.</p>",
            escape(name)
        ),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmation {
    token: String,
    new_password: String,
}

/// Use a reset or invitation link: the new password is set, every session ends, the lock on the
/// account lifts, and the person is signed in.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "identity", request_body = ResetConfirmation,
    responses((status = 200, description = "Reset; a fresh session", body = Session),
        (status = 422, description = "The link expired or was used, or the password is too weak")))]
pub async fn confirm_reset(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<ResetConfirmation>,
) -> Result<Json<Session>, ApiError> {
    const GONE: &str = "this link has expired or was used: ask for a new one";
    let db = &state.app.db;
    let pk = reset_pk(&sessions::token_hash(&body.value.token));
    let record: ResetRecord = db
        .get_as::<ResetRecord>(&pk, "RESET")
        .await?
        .filter(|r| !r.used && r.expires_at >= Utc::now().timestamp())
        .ok_or_else(|| ApiError::rule("token", GONE))?;
    let user: User = read_user(db, &record.company_id, &record.user_id)
        .await?
        // A link from before the latest password change (or reset) is void.
        .filter(|u| u.active && record.issued_at_ms > u.tokens_valid_after_ms)
        .ok_or_else(|| ApiError::rule("token", GONE))?;
    if let Some(why) = password::weakness(&body.value.new_password, &user.email) {
        return Err(ApiError::field("new_password", why));
    }
    let hash = password::hash_apart(body.value.new_password).await?;
    let now_ms = Utc::now().timestamp_millis();
    let ctx = TenantContext::acting(&user.company_id, &user.user_id, user.role);
    let action = match record.purpose {
        LinkPurpose::Reset => "user.password_reset",
        LinkPurpose::Invitation => "user.accept_invitation",
    };
    let audit = meta.audit(&ctx, action, "user", &user.user_id, vec![]);
    let mut unit = UnitOfWork::new(db);
    unit.include_guarded(use_once(&db.table, &pk, "RESET"), "token", GONE)
        .include_guarded(new_password(&db.table, &user, &hash, now_ms), "token", GONE)
        .audit(&ctx.keys, &audit)?;
    if record.purpose == LinkPurpose::Invitation {
        // The invitation proved the mailbox: from now on sign-in finds this company for the email,
        // and an invited administrator counts as one.
        add_membership(&mut unit, &user)?;
        let accepted = User { password_hash: hash.clone(), ..user.clone() };
        if counts_as_admin(&accepted) && !counts_as_admin(&user) {
            let keys = TenantKeys::new(&user.company_id);
            unit.include_guarded(admins_change(&db.table, &keys, 1), "token", GONE);
        }
    }
    let session = with_fresh_session(&state, unit, &user, now_ms).await?;
    guard::lift(db, &user.email, &meta.source_ip).await?;
    Ok(Json(session))
}

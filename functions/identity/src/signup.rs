//! Sign-up with a proven email. `POST /api/auth/register` keeps the request aside (hashed password
//! included) and emails a link; nothing of the company exists yet, and the answer is the same
//! whether or not the email already has accounts. `POST /api/auth/verify-email` with the link's
//! token creates the company, its first administrator and their email membership in one
//! transaction, and signs them in. Unused links expire after a day and are then forgotten (TTL).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Duration, Utc};
use keel_core::FieldErrors;
use keel_http::{ApiError, ApiJson, RequestMeta, Role, TenantContext};
use keel_store::audit::FieldChange;
use keel_store::db::s;
use keel_store::{TenantKeys, UnitOfWork};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::IdentityState;
use crate::mail::Letter;
use crate::records::{
    add_membership, add_new_company, add_new_user, credentials, keyed, name, signup_pk, workspace_name_pk, Company,
    PendingSignUp, User,
};
use crate::sessions::{self, Session};
use crate::{guard, password};

/// How long a verification link works.
pub const VERIFY_TTL_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    company_name: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// A sign-up waiting for its email to be verified.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignUpPending {
    /// Where the verification link was sent.
    pub email: String,
    /// Seconds the link works.
    pub expires_in: i64,
}

/// Ask for a company with its first administrator: a verification link goes to the email, and
/// the company exists once it is used.
#[utoipa::path(post, path = "/api/auth/register", tag = "identity", request_body = Registration,
    responses((status = 202, description = "Check your email: the link creates the company", body = SignUpPending),
        (status = 429, description = "Too many sign-ups from this address, to this email or overall")))]
pub async fn register(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<Registration>,
) -> Result<(StatusCode, Json<SignUpPending>), ApiError> {
    let r = body.value;
    let mut e = FieldErrors::default();
    let company_name = name(&mut e, "company_name", r.company_name.as_deref());
    let full_name = name(&mut e, "full_name", r.full_name.as_deref());
    let (email, pw) = credentials(&mut e, r.email.as_deref(), r.password);
    let (Some(company_name), Some(full_name), Some(email)) = (company_name, full_name, email) else {
        return Err(ApiError::Validation(e));
    };
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    let db = &state.app.db;
    // Refused here, a flood costs one conditional write per request: no hashing, no mail.
    guard::take_all(
        db,
        &[
            (guard::ADDRESS_SIGN_UPS, &guard::source(&meta.source_ip)),
            (guard::ALL_SIGN_UPS, "all"),
            (guard::SIGN_UP_MAIL, email.as_str()),
        ],
    )
    .await?;
    let pending = PendingSignUp {
        company_name,
        full_name,
        email: email.to_string(),
        password_hash: password::hash_apart(pw).await?,
        expires_at: (Utc::now() + Duration::seconds(VERIFY_TTL_SECONDS)).timestamp(),
    };
    let token = sessions::random_token();
    let mut unit = UnitOfWork::new(db);
    unit.create(keyed(&pending, signup_pk(&sessions::token_hash(&token)), "SIGNUP", "pending_sign_up")?);
    unit.commit().await?;
    state.mailer.send(&pending.email, verification_letter(&state.mailer.link("verify-email", &token))).await?;
    Ok((StatusCode::ACCEPTED, Json(SignUpPending { email: pending.email, expires_in: VERIFY_TTL_SECONDS })))
}

/// The verification mail. It carries none of the sign-up's words (names, company): whoever signed
/// up can send it to any address, so it says only what Keel says.
fn verification_letter(link: &str) -> Letter {
    Letter {
        subject: "Confirm your email for Keel CRM".into(),
        text: format!(
            "Hello,\n\nSomeone signed up for Keel CRM with this email address. If it was you, open this link and enter \
             the password you chose to open your workspace:\n\n{link}\n\nThe link works for 24 hours. If it was not \
             you, ignore this email: nothing is created without the link and that password.\n"
        ),
        html: format!(
            "<p>Hello,</p><p>Someone signed up for Keel CRM with this email address. If it was you, \
             <a href=\"{link}\">open your workspace</a> and enter the password you chose.</p><p>The link works for 24 \
             hours. If it was not you, ignore this email: nothing is created without the link and that password.</p>"
        ),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    token: String,
    /// The password chosen at sign-up: whoever opens the link must also be who signed up, so a
    /// stranger's sign-up in someone's name comes to nothing even if they click.
    password: String,
}

/// Use a verification link (with the sign-up's password): the company and its administrator are
/// created, signed in.
#[utoipa::path(post, path = "/api/auth/verify-email", tag = "identity", request_body = Verification,
    responses((status = 201, description = "The company exists; its administrator is signed in", body = Session),
        (status = 409, description = "This email already opened a company of that name"),
        (status = 429, description = "Too many wrong passwords for this email from this address"),
        (status = 422, description = "The link expired or was used, or the password is not the one chosen")))]
pub async fn verify_email(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<Verification>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let app = &state.app;
    let gone = || ApiError::rule("token", "this link has expired or was used: sign in, or sign up again");
    let pending_pk = signup_pk(&sessions::token_hash(&body.value.token));
    let pending: PendingSignUp = app.db.get_as(&pending_pk, "SIGNUP").await?.ok_or_else(gone)?;
    if pending.expires_at < Utc::now().timestamp() {
        return Err(gone());
    }
    // Each wrong password counts as a failed sign-in of the email: a pending sign-up is no way
    // around the sign-in limits.
    guard::admit_sign_in(&app.db, &pending.email, &meta.source_ip).await?;
    if !password::matches_one(body.value.password.clone(), &pending.password_hash).await? {
        guard::record_failure(&app.db, &pending.email, &meta.source_ip).await?;
        return Err(ApiError::rule("password", "is not the password chosen when signing up"));
    }
    let (company_id, user_id) = (ulid::Ulid::new().to_string(), ulid::Ulid::new().to_string());
    let c = TenantKeys::new(&company_id);
    let now = Utc::now().to_rfc3339();
    let company =
        Company { company_id: company_id.clone(), name: pending.company_name.clone(), created_at: now.clone() };
    let user = User {
        user_id: user_id.clone(),
        company_id: company_id.clone(),
        email: pending.email.clone(),
        full_name: pending.full_name.clone(),
        role: Role::Admin,
        active: true,
        tokens_valid_after_ms: 0,
        password_hash: pending.password_hash.clone(),
        created_at: now,
    };
    let ctx = TenantContext::acting(&company_id, &user_id, Role::Admin);
    let recorded = |field: &str, after: &str| FieldChange {
        field: field.into(),
        before: serde_json::Value::Null,
        after: after.into(),
    };
    let company_audit =
        meta.audit(&ctx, "company.create", "company", &company_id, vec![recorded("name", &company.name)]);
    let user_audit = meta.audit(
        &ctx,
        "user.create",
        "user",
        &user_id,
        vec![recorded("email", &user.email), recorded("full_name", &user.full_name), recorded("role", "admin")],
    );
    let (family, refresh, refresh_item) = sessions::start(&app.db.table, &c, &company_id, &user_id);

    let mut unit = UnitOfWork::new(&app.db);
    // The link works once: whoever commits first made the company.
    let used = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(&app.db.table)
        .key("pk", s(&pending_pk))
        .key("sk", s("SIGNUP"))
        .condition_expression("attribute_exists(pk)")
        .build()
        .expect("key and condition are set");
    unit.include_guarded(
        aws_sdk_dynamodb::types::TransactWriteItem::builder().delete(used).build(),
        "token",
        "this link has expired or was used: sign in, or sign up again",
    );
    add_new_company(&mut unit, &c, &company)?;
    add_new_user(&mut unit, &c, &user)?;
    add_membership(&mut unit, &user)?;
    // One company of a name per email: a sign-up sent twice (a retry, a double click) and then
    // verified twice opens one company, not two.
    let name =
        keyed(&serde_json::json!({}), workspace_name_pk(&user.email), &company.name.to_lowercase(), "workspace_name")?;
    unit.claim_marker("company", "company_name", name, "company_id", &company_id);
    unit.include(refresh_item).audit(&c, &company_audit)?.audit(&c, &user_audit)?;
    unit.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(sessions::session(&*state.signer.issuer().await?, &company_id, &user_id, Role::Admin, &family, refresh)),
    ))
}

//! `POST /api/auth/login` and `/api/auth/login/choose`: sign-in checks the password first, and
//! only then, when it is right in several companies, asks which one. Before the password is
//! known to be right, every answer is the same 401 whether or not the email has an account.

use axum::extract::State;
use axum::Json;
use chrono::{Duration, Utc};
use futures::future::try_join_all;
use keel_core::Email;
use keel_http::{ApiError, ApiJson, RequestMeta, TenantContext};
use keel_store::{TenantKeys, UnitOfWork};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::IdentityState;
use crate::records::{
    choice_pk, keyed, memberships, read_company, read_user, use_once, ChoiceRecord, Company, Membership, User,
};
use crate::sessions::{self, Session};
use crate::{guard, password};

/// How long the company choice stays open after the password was right.
pub const CHOICE_TTL_SECONDS: i64 = 5 * 60;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
    /// Signs straight into this company when the password is right there.
    company_id: Option<String>,
}

/// A company the person may enter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CompanyOption {
    pub company_id: String,
    pub company_name: String,
}

/// The password is right in several companies: pick one with `/api/auth/login/choose`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CompanyChoice {
    pub choice_token: String,
    pub companies: Vec<CompanyOption>,
    /// Seconds the choice stays open.
    pub expires_in: i64,
}

/// Signed in, or asked which company.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SignIn {
    Session(Session),
    Choice(CompanyChoice),
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("The email or password is not right")
}

/// Sign in. Unknown emails and wrong passwords answer alike; failures lock out only their own
/// account-and-address pair, and slow (never lock) the account for everyone else.
#[utoipa::path(post, path = "/api/auth/login", tag = "identity", request_body = Credentials,
    responses((status = 200, description = "Signed in, or the companies to choose from", body = SignIn),
        (status = 401, description = "The email or password is not right"),
        (status = 429, description = "Too many attempts from this address or for this account and address")))]
pub async fn login(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<Credentials>,
) -> Result<Json<SignIn>, ApiError> {
    let app = &state.app;
    let creds = body.value;
    let email = Email::parse(&creds.email).map_err(|m| ApiError::field("email", m))?;
    guard::admit_sign_in(&app.db, email.as_str(), &meta.source_ip).await?;

    let memberships = memberships(&app.db, email.as_str()).await?;
    let candidates: Vec<Membership> =
        memberships.into_iter().filter(|m| creds.company_id.as_ref().is_none_or(|c| c == &m.company_id)).collect();
    let users: Vec<User> = try_join_all(candidates.iter().map(|m| read_user(&app.db, &m.company_id, &m.user_id)))
        .await?
        .into_iter()
        .flatten()
        .filter(|u| u.active && !u.password_hash.is_empty())
        .collect();
    let right =
        password::matches_apart(creds.password, users.iter().map(|u| u.password_hash.clone()).collect()).await?;
    let mut entered: Vec<User> = users.into_iter().zip(right).filter(|(_, ok)| *ok).map(|(u, _)| u).collect();
    match entered.len() {
        0 => {
            guard::record_failure(&app.db, email.as_str(), &meta.source_ip).await?;
            Err(bad_credentials())
        }
        1 => Ok(Json(SignIn::Session(sign_in(&state, &meta, &entered.remove(0), None).await?))),
        _ => Ok(Json(SignIn::Choice(offer_choice(&state, entered).await?))),
    }
}

/// Starts a session for `user`, recorded in their company's audit trail, with `extra` items
/// (a used choice) in the same transaction.
pub async fn sign_in(
    state: &IdentityState,
    meta: &RequestMeta,
    user: &User,
    extra: Option<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Session, ApiError> {
    let app = &state.app;
    let c = TenantKeys::new(&user.company_id);
    let (family, refresh, item) = sessions::start(&app.db.table, &c, &user.company_id, &user.user_id);
    let actor = TenantContext::acting(&user.company_id, &user.user_id, user.role);
    let signed_in = meta.audit(&actor, "user.sign_in", "user", &user.user_id, vec![]);
    let mut unit = UnitOfWork::new(&app.db);
    unit.include(item).audit(&c, &signed_in)?;
    if let Some(extra) = extra {
        unit.include_guarded(extra, "choice_token", "this sign-in was completed already: sign in again");
    }
    unit.commit().await?;
    Ok(sessions::session(&*state.signer.issuer().await?, &user.company_id, &user.user_id, user.role, &family, refresh))
}

async fn offer_choice(state: &IdentityState, users: Vec<User>) -> Result<CompanyChoice, ApiError> {
    let db = &state.app.db;
    let companies: Vec<Option<Company>> = try_join_all(users.iter().map(|u| read_company(db, &u.company_id))).await?;
    let token = sessions::random_token();
    let record = ChoiceRecord {
        options: users
            .iter()
            .map(|u| Membership { company_id: u.company_id.clone(), user_id: u.user_id.clone() })
            .collect(),
        used: false,
        expires_at: (Utc::now() + Duration::seconds(CHOICE_TTL_SECONDS)).timestamp(),
        issued_at_ms: Utc::now().timestamp_millis(),
    };
    let mut unit = UnitOfWork::new(db);
    unit.create(keyed(&record, choice_pk(&sessions::token_hash(&token)), "CHOICE", "sign_in_choice")?);
    unit.commit().await?;
    Ok(CompanyChoice {
        choice_token: token,
        companies: companies
            .into_iter()
            .flatten()
            .map(|c| CompanyOption { company_id: c.company_id, company_name: c.name })
            .collect(),
        expires_in: CHOICE_TTL_SECONDS,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    choice_token: String,
    company_id: String,
}

/// Finish a sign-in whose password was right in several companies: enter the chosen one.
#[utoipa::path(post, path = "/api/auth/login/choose", tag = "identity", request_body = Choice,
    responses((status = 200, description = "Signed in", body = Session),
        (status = 401, description = "The choice expired or was used: sign in again"),
        (status = 422, description = "Not one of the companies offered")))]
pub async fn choose(
    State(state): State<IdentityState>,
    meta: RequestMeta,
    body: ApiJson<Choice>,
) -> Result<Json<Session>, ApiError> {
    let db = &state.app.db;
    let ended = || ApiError::Unauthorized("The sign-in has expired: sign in again");
    let pk = choice_pk(&sessions::token_hash(&body.value.choice_token));
    let record: ChoiceRecord = db.get_as(&pk, "CHOICE").await?.ok_or_else(ended)?;
    if record.used || record.expires_at < Utc::now().timestamp() {
        return Err(ended());
    }
    let option = record.options.iter().find(|m| m.company_id == body.value.company_id).ok_or_else(|| {
        let mut e = keel_core::FieldErrors::default();
        e.add("company_id", "is not one of the companies offered");
        ApiError::Rule(e)
    })?;
    let user: User = read_user(db, &option.company_id, &option.user_id)
        .await?
        // A password change since the password was found right voids the choice.
        .filter(|u| u.active && record.issued_at_ms > u.tokens_valid_after_ms)
        .ok_or_else(ended)?;
    Ok(Json(sign_in(&state, &meta, &user, Some(use_once(&db.table, &pk, "CHOICE"))).await?))
}

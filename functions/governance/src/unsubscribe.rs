//! `/api/unsubscribe/{token}`: what a person who follows an unsubscribe link reaches, without
//! signing in. The signed token names the company, the lead and the channel; nothing about the
//! person is ever answered. Opening the link (GET) changes nothing — mail scanners open links
//! too; the page's button, or a mail client's one-click unsubscribe (RFC 8058), POSTs.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use keel_core::consent::{ConsentChannel, ConsentRecord, ConsentStatus};
use keel_core::field_error::FieldErrors;
use keel_events::Actor;
use keel_http::json::RawBody;
use keel_http::links::{LinkError, UnsubscribeLink};
use keel_http::{ApiError, ApiPath, AppState, RequestMeta};
use keel_store::audit::AuditRecord;
use keel_store::consent::Guard;
use keel_store::idempotency::fingerprint;
use keel_store::window_limit::{self, source, Limit};
use keel_store::{consent, leads, Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::consent::action;
use crate::Links;

/// Links that are not ours one address may try in ten minutes: little for someone guessing.
pub const UNSUBSCRIBES: Limit = Limit { tenant: "_governance", name: "unsubscribe", window_seconds: 600, max: 60 };
/// Times one valid link may be used in ten minutes. Counted per link, not per address: mail
/// providers send one-click unsubscribes, and scanners open links, from shared addresses.
pub const LINK_USES: Limit = Limit { tenant: "_governance", name: "link", window_seconds: 600, max: 30 };
/// Who withdrew, in events and the audit trail: the person, through the link.
const LINK_ACTOR: &str = "unsubscribe-link";

/// What the unsubscribe page shows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnsubscribeView {
    pub channel: ConsentChannel,
    /// Consent for the channel is withdrawn already.
    pub withdrawn: bool,
    pub expires_at: DateTime<Utc>,
}

/// The answer to an unsubscribe.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Unsubscribed {
    pub channel: ConsentChannel,
    pub withdrawn: bool,
}

/// The link a token stands for. The signature is checked first (no database call); only a link
/// that is not ours counts against the address.
async fn opened(app: &AppState, links: &Links, token: &str, meta: &RequestMeta) -> Result<UnsubscribeLink, ApiError> {
    let (limit, subject, answer) = match links.keys.signer().await?.open(token, Utc::now().timestamp()) {
        Ok(link) => (LINK_USES, fingerprint(token.as_bytes()), Ok(link)),
        Err(LinkError::Invalid) => (UNSUBSCRIBES, source(&meta.source_ip), Err(ApiError::NotFound)),
        Err(LinkError::Expired) => {
            let mut errors = FieldErrors::default();
            errors
                .add("token", "This unsubscribe link has expired: use the one in a newer message, or ask the sender.");
            (LINK_USES, fingerprint(token.as_bytes()), Err(ApiError::Rule(errors)))
        }
    };
    if let Err(retry_after) = window_limit::take_remembered(&app.db, limit, &subject).await? {
        return Err(ApiError::RateLimited { retry_after });
    }
    answer
}

fn expires(link: &UnsubscribeLink) -> DateTime<Utc> {
    DateTime::from_timestamp(link.expires, 0).unwrap_or_default()
}

/// What an unsubscribe link is for (its channel, and whether consent is withdrawn already).
/// Changes nothing.
#[utoipa::path(
    get,
    path = "/api/unsubscribe/{token}",
    tag = "governance",
    params(("token" = String, Path, description = "The token of an unsubscribe link", max_length = 1024)),
    responses(
        (status = 200, description = "The link", body = UnsubscribeView),
        (status = 422, description = "The link has expired"),
        (status = 429, description = "Too many tries of this link, or of bad links from this address",
            headers(("Retry-After" = i64))),
    )
)]
pub async fn open_link(
    State(app): State<AppState>,
    Extension(links): Extension<Arc<Links>>,
    ApiPath(token): ApiPath<String>,
    meta: RequestMeta,
) -> Result<Json<UnsubscribeView>, ApiError> {
    let link = opened(&app, &links, &token, &meta).await?;
    let keys = TenantKeys::new(&link.tenant_id);
    let state = consent::state(&app.db, &keys, &link.lead_id).await?;
    Ok(Json(UnsubscribeView {
        channel: link.channel,
        withdrawn: state.withdrawn(link.channel),
        expires_at: expires(&link),
    }))
}

/// Withdraw consent for the link's channel. Takes any body (a mail client's one-click sends
/// `List-Unsubscribe=One-Click`); the same link used again, or twice at once, withdraws once.
#[utoipa::path(
    post,
    path = "/api/unsubscribe/{token}",
    tag = "governance",
    params(("token" = String, Path, description = "The token of an unsubscribe link", max_length = 1024)),
    responses(
        (status = 200, description = "Consent for the channel is withdrawn", body = Unsubscribed),
        (status = 422, description = "The link has expired"),
        (status = 429, description = "Too many tries of this link, or of bad links from this address",
            headers(("Retry-After" = i64))),
    )
)]
pub async fn unsubscribe(
    State(app): State<AppState>,
    Extension(links): Extension<Arc<Links>>,
    ApiPath(token): ApiPath<String>,
    meta: RequestMeta,
    RawBody(_body): RawBody,
) -> Result<Json<Unsubscribed>, ApiError> {
    let link = opened(&app, &links, &token, &meta).await?;
    let done = Json(Unsubscribed { channel: link.channel, withdrawn: true });
    let keys = TenantKeys::new(&link.tenant_id);
    let (lead, before) =
        tokio::try_join!(leads::get(&app.db, &keys, &link.lead_id), consent::state(&app.db, &keys, &link.lead_id))?;
    // A lead no longer there has nobody left to mail; a withdrawal already stands.
    if lead.is_none() || before.withdrawn(link.channel) {
        return Ok(done);
    }
    let now = Utc::now();
    let record = ConsentRecord {
        id: Ulid::new(),
        channel: link.channel,
        status: ConsentStatus::Withdrawn,
        source: LINK_ACTOR.into(),
        proof: "Unsubscribed through the link in a message".into(),
        at: now,
        actor_id: None,
        source_ip: meta.source_ip.clone(),
    };
    let audit = AuditRecord {
        id: Ulid::new(),
        at: now,
        actor_id: LINK_ACTOR.into(),
        role: "public".into(),
        action: action(ConsentStatus::Withdrawn).into(),
        entity_type: "lead".into(),
        entity_id: link.lead_id.clone(),
        changes: vec![consent::change(&before, &record)],
        request_id: meta.request_id.clone(),
        source_ip: meta.source_ip.clone(),
    };
    let actor = Actor { user_id: LINK_ACTOR.into(), role: "public".into() };
    let mut unit = UnitOfWork::new(&app.db);
    // Unless withdrawn meanwhile: a double click, a retry, or the page and the mail client at once
    // append one withdrawal; a later grant and a later click of the same link, another.
    consent::record(&mut unit, &keys, &link.lead_id, &record, Guard::NotWithdrawn, actor, &audit)?;
    match unit.commit().await {
        Ok(()) => {
            tracing::info!(channel = link.channel.as_str(), "consent withdrawn through an unsubscribe link");
            Ok(done)
        }
        Err(WriteError::Refused(Refusal::Rule { field: consent::WITHDRAWN_FIELD, .. })) => Ok(done),
        Err(e) => Err(e.into()),
    }
}

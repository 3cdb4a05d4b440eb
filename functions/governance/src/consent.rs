//! `…/leads/{lead_id}/consent`: the lead's consent per channel and its ledger; recording a grant
//! or a withdrawal; an unsubscribe link to put in a message.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Utc};
use keel_core::consent::{
    ConsentChannel, ConsentCheck, ConsentRecord, ConsentState, ConsentStatus, NewConsent, Requirement,
};
use keel_core::field_error::FieldErrors;
use keel_core::governance::ConsentPolicy;
use keel_core::Lead;
use keel_events::Actor;
use keel_http::links::{UnsubscribeLink, UNSUBSCRIBE_DAYS};
use keel_http::path::record_id;
use keel_http::{
    query, ApiError, ApiJson, ApiPath, AppState, Id, IdempotentCreate, Page, Pager, Permission, RequestMeta,
    TenantContext,
};
use keel_store::consent::Guard;
use keel_store::{consent, governance, leads, Db, Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use crate::Links;

const IDEMPOTENCY_SCOPE: &str = "consent.record";
/// Times a record is written again on a fresh read when another landed first: each round one of
/// the records racing for a lead lands, so enough for a burst of them.
const ATTEMPTS: usize = 10;

/// One channel as a sender sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChannelView {
    pub channel: ConsentChannel,
    /// The latest record's; null when the person was never asked.
    pub status: Option<ConsentStatus>,
    pub at: Option<DateTime<Utc>>,
    pub source: Option<String>,
    /// What a send on the channel needs.
    pub requirement: Requirement,
    /// Whether a send may go out now, and if not, why.
    pub check: ConsentCheck,
}

/// A lead's consent: every channel's standing, and the ledger newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentView {
    pub lead_id: String,
    pub channels: Vec<ChannelView>,
    pub history: Page<ConsentRecord>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// `next_cursor` of the page before
    cursor: Option<String>,
    /// Records per page (1–100, default 20)
    limit: Option<u32>,
}

fn channels(state: &ConsentState, policy: &ConsentPolicy) -> Vec<ChannelView> {
    ConsentChannel::ALL
        .into_iter()
        .map(|channel| {
            let entry = state.channels.get(&channel);
            let requirement = policy.requirement(channel);
            ChannelView {
                channel,
                status: entry.map(|e| e.status),
                at: entry.map(|e| e.at),
                source: entry.map(|e| e.source.clone()),
                requirement,
                check: state.check(channel, requirement),
            }
        })
        .collect()
}

async fn lead(db: &Db, keys: &TenantKeys, raw: &str) -> Result<Lead, ApiError> {
    leads::get(db, keys, record_id(raw)?).await?.ok_or(ApiError::NotFound)
}

/// The lead's consent per channel (what a send needs under the company's policy, and whether it
/// may go out) and its ledger, newest first (4 reads at once: the lead, the state, a page of
/// records, the policy).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/consent",
    tag = "governance",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path), HistoryParams),
    responses((status = 200, description = "The lead's consent", body = ConsentView)),
    security(("bearer" = []))
)]
pub async fn get_consent(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, lead_id)): ApiPath<(Id, Id)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ConsentView>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&lead_id)?.to_string();
    let params: HistoryParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let limit = query::limit(&mut errors, params.limit, 20, 100);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "consent", &id);
    let start = pager.start(params.cursor.as_deref())?;
    let (found, state, (records, last), policy) = tokio::try_join!(
        leads::get(&app.db, keys, &id),
        consent::state(&app.db, keys, &id),
        consent::history(&app.db, keys, &id, limit as i32, start),
        governance::policy(&app.db, keys),
    )?;
    found.ok_or(ApiError::NotFound)?;
    // The address a record came from is the person's (or a colleague's) personal data: only
    // those who may read the audit trail see it.
    let records = if ctx.role.can(Permission::ReadAudit) {
        records
    } else {
        records.into_iter().map(|r| ConsentRecord { source_ip: String::new(), ..r }).collect()
    };
    let channels = channels(&state, &policy.consent);
    Ok(Json(ConsentView { lead_id: id, channels, history: pager.page(records, last) }))
}

/// Record consent granted or withdrawn for a channel, with its proof (what the person agreed to,
/// or how they asked to stop). Anyone who may change records can record a withdrawal — a person
/// who asks to stop is heard whoever takes the call; a grant is the lead owner's or a
/// manager's. Records are never changed or removed; the latest one is the channel's state.
/// Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/consent",
    tag = "governance",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the first response")),
    request_body = NewConsent,
    responses((status = 201, description = "Recorded", body = ConsentRecord)),
    security(("bearer" = []))
)]
pub async fn record_consent(
    State(app): State<AppState>,
    ctx: TenantContext,
    meta: RequestMeta,
    headers: HeaderMap,
    ApiPath((company_id, lead_id)): ApiPath<(Id, Id)>,
    body: ApiJson<NewConsent>,
) -> Result<(StatusCode, Json<ConsentRecord>), ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let (channel, status, proof) = body.value.validate().map_err(ApiError::Validation)?;
    let lead = lead(&app.db, keys, &lead_id).await?;
    let id = lead.id.to_string();
    if status == ConsentStatus::Granted {
        ctx.require_edit(&lead.owner_id, &lead.owner_id)?;
    }
    let idempotent =
        IdempotentCreate::from_headers(&headers, IDEMPOTENCY_SCOPE, &ctx.user_id, &body.raw)?.on_record(&id);
    let actor = Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() };
    // Written on the state as read: a record that lands meanwhile makes this one read again, so
    // the audit's "before" is what the record really changed.
    for _ in 0..ATTEMPTS {
        let before = consent::state(&app.db, keys, &id).await?;
        let now = Utc::now();
        let record = ConsentRecord {
            id: Ulid::new(),
            channel,
            status,
            source: format!("user:{}", ctx.user_id),
            proof: proof.clone(),
            at: now,
            actor_id: Some(ctx.user_id.clone()),
            source_ip: meta.source_ip.clone(),
        };
        let audit = meta.audit(&ctx, action(status), "lead", &id, vec![consent::change(&before, &record)]);
        let response = serde_json::to_vec(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut unit = UnitOfWork::new(&app.db);
        consent::record(&mut unit, keys, &id, &record, Guard::Read(before.version), actor.clone(), &audit)?;
        idempotent.record(&mut unit, keys, 201, &response, now);
        match unit.commit().await {
            Ok(()) => return Ok((StatusCode::CREATED, Json(record))),
            Err(WriteError::Refused(Refusal::KeyUsed)) => {
                return Ok((StatusCode::CREATED, Json(idempotent.replayed(&app.db, keys, now).await?)))
            }
            Err(WriteError::Refused(Refusal::Stale)) => {
                // Step aside a little, unevenly, so the records racing take turns.
                let pause = 5 + u64::from(Ulid::new().random() as u8 % 20);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable("the lead's consent kept changing".into()))
}

/// The audit action of a record.
pub(crate) fn action(status: ConsentStatus) -> &'static str {
    match status {
        ConsentStatus::Granted => "consent.grant",
        ConsentStatus::Withdrawn => "consent.withdraw",
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `email`, `whatsapp`, `phone` or `sms`.
    pub channel: Option<String>,
}

/// An unsubscribe link for a message to the lead.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnsubscribeLinkView {
    /// The web app's unsubscribe page, the signed token in its fragment.
    pub url: String,
    /// The token alone (`POST /api/unsubscribe/{token}` is the one-click unsubscribe a
    /// `List-Unsubscribe-Post` header points at).
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// An unsubscribe link for a message to the lead on a channel: whoever holds it can withdraw the
/// lead's consent for that channel, without signing in, for 180 days. Writes nothing.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/consent/unsubscribe-link",
    tag = "governance",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    request_body = LinkRequest,
    responses((status = 200, description = "The link", body = UnsubscribeLinkView)),
    security(("bearer" = []))
)]
pub async fn unsubscribe_link(
    State(app): State<AppState>,
    ctx: TenantContext,
    Extension(links): Extension<Arc<Links>>,
    ApiPath((company_id, lead_id)): ApiPath<(Id, Id)>,
    body: ApiJson<LinkRequest>,
) -> Result<Json<UnsubscribeLinkView>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let channel = match body.value.channel.as_deref().map(str::trim) {
        None | Some("") => return Err(ApiError::field("channel", "is required")),
        Some(c) => ConsentChannel::parse(c)
            .ok_or_else(|| ApiError::field("channel", "must be one of email, whatsapp, phone, sms"))?,
    };
    let lead = lead(&app.db, keys, &lead_id).await?;
    let expires_at = Utc::now() + Duration::days(UNSUBSCRIBE_DAYS);
    let link = UnsubscribeLink {
        tenant_id: keys.tenant_id().to_string(),
        lead_id: lead.id.to_string(),
        channel,
        expires: expires_at.timestamp(),
    };
    let token = links.keys.signer().await?.sign(&link);
    Ok(Json(UnsubscribeLinkView { url: links.page(&token), token, expires_at }))
}

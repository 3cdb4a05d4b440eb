//! WhatsApp inbound: the company's channel settings (`/api/companies/{company_id}/channels/whatsapp`,
//! administrators) and the webhook the WhatsApp Cloud API calls (`/api/webhooks/whatsapp/{hook_key}`):
//! its subscription challenge, and messages signed with the company's app secret. A message from a
//! phone no lead holds makes a lead attributed to WhatsApp; every message is logged on its lead's
//! timeline, once per message id (WhatsApp redelivers).
//!
//! The app secret is kept in the table (encrypted at rest like every item), written only through
//! this API, never answered back and never logged.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::activity::ActivityType;
use keel_core::field_error::{line, text};
use keel_core::form::OwnerRule;
use keel_core::{FieldErrors, NewLead};
use keel_http::json::RawBody;
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::{AuditRecord, FieldChange};
use keel_store::db::{delete, from_item, put};
use keel_store::{Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::intake::{self, Channel, Contact, Logged};
use crate::store::{self, hook_pk, key_item, random_key, whatsapp_pk, CHANNEL_SK, HOOK_SK};

const SECRET_MAX: usize = 200;
const APP_SECRET_MIN: usize = 16;
const VERIFY_TOKEN_MIN: usize = 12;
const BODY_MAX: usize = 4_000;
/// How long a message id counts as seen: WhatsApp retries a delivery for up to 7 days.
const SEEN_HOURS: i64 = 8 * 24;

/// The channel as stored (with its secrets).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WhatsAppSettings {
    app_secret: String,
    verify_token: String,
    campaign: String,
    medium: String,
    owner: OwnerRule,
    hook_key: String,
    version: u64,
    updated_by: String,
    updated_at: DateTime<Utc>,
}

/// The channel as answered: no secret leaves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WhatsAppChannel {
    /// Give WhatsApp `https://<your Keel address>{webhook_path}` as the callback URL.
    pub webhook_path: String,
    pub app_secret_set: bool,
    pub campaign: String,
    pub medium: String,
    pub owner: OwnerRule,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

impl From<&WhatsAppSettings> for WhatsAppChannel {
    fn from(s: &WhatsAppSettings) -> Self {
        WhatsAppChannel {
            webhook_path: format!("/api/webhooks/whatsapp/{}", s.hook_key),
            app_secret_set: !s.app_secret.is_empty(),
            campaign: s.campaign.clone(),
            medium: s.medium.clone(),
            owner: s.owner.clone(),
            version: s.version,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppSetup {
    /// The Meta app's secret, which signs each delivery. Required the first time; left out, the
    /// one set stays.
    pub app_secret: Option<String>,
    /// The token you type into WhatsApp's webhook settings, answered back in its challenge.
    pub verify_token: Option<String>,
    /// Attribution of leads the channel makes (source is always `WhatsApp`).
    pub campaign: Option<String>,
    pub medium: Option<String>,
    pub owner: Option<OwnerRule>,
    /// `true` takes a fresh webhook address; the old one stops working at once.
    #[serde(default)]
    pub rotate_hook_key: bool,
    /// The version you read (absent the first time).
    pub version: Option<u64>,
}

async fn settings(app: &AppState, keys: &TenantKeys) -> Result<Option<WhatsAppSettings>, ApiError> {
    Ok(app.db.get(&whatsapp_pk(keys), CHANNEL_SK).await?.map(from_item).transpose()?)
}

/// The company's WhatsApp channel (administrators); not found until it is set up.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/channels/whatsapp",
    tag = "capture",
    params(("company_id" = Id, Path)),
    responses(
        (status = 200, description = "The channel", body = WhatsAppChannel),
        (status = 403, description = "Not an administrator"),
    ),
    security(("bearer" = []))
)]
pub async fn get_channel(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<WhatsAppChannel>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let current = settings(&app, keys).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(WhatsAppChannel::from(&current)))
}

/// Set up or change the WhatsApp channel (administrators).
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/channels/whatsapp",
    tag = "capture",
    params(("company_id" = Id, Path)),
    request_body = WhatsAppSetup,
    responses(
        (status = 200, description = "The channel", body = WhatsAppChannel),
        (status = 403, description = "Not an administrator"),
        (status = 409, description = "Changed since the version sent"),
    ),
    security(("bearer" = []))
)]
pub async fn put_channel(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<WhatsAppSetup>,
) -> Result<Json<WhatsAppChannel>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let setup = body.value;
    let current = settings(&app, keys).await?;
    if setup.version != current.as_ref().map(|c| c.version) {
        return Err(ApiError::Stale { current_version: current.as_ref().map(|c| c.version) });
    }
    let mut e = FieldErrors::default();
    let secret = line(&mut e, "app_secret", setup.app_secret.as_deref(), current.is_none(), SECRET_MAX);
    let token = line(&mut e, "verify_token", setup.verify_token.as_deref(), current.is_none(), SECRET_MAX);
    // A short secret can be guessed: Meta's app secrets are 32 characters; the verify token is the
    // company's own choice, and only needs to be more than a word.
    if secret.as_ref().is_some_and(|s| s.chars().count() < APP_SECRET_MIN) {
        e.add(
            "app_secret",
            format!("must be at least {APP_SECRET_MIN} characters (the app secret from Meta's app settings)"),
        );
    }
    if token.as_ref().is_some_and(|t| t.chars().count() < VERIFY_TOKEN_MIN) {
        e.add("verify_token", format!("must be at least {VERIFY_TOKEN_MIN} characters"));
    }
    let campaign = line(&mut e, "campaign", setup.campaign.as_deref(), false, 100);
    let medium = line(&mut e, "medium", setup.medium.as_deref(), false, 100);
    if let Some(OwnerRule::User { user_id }) = &setup.owner {
        if !keel_core::field_error::is_record_id(user_id) {
            e.add("owner.user_id", "must be a user id");
        }
    }
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    if let Some(OwnerRule::User { user_id }) = &setup.owner {
        keel_http::owners::require_lead_owner(&app.db, keys, user_id, "owner.user_id").await?;
    }
    let now = Utc::now();
    let keep = |f: fn(&WhatsAppSettings) -> String, default: &str| {
        current.as_ref().map(f).unwrap_or_else(|| default.to_string())
    };
    let next = WhatsAppSettings {
        app_secret: secret.unwrap_or_else(|| keep(|c| c.app_secret.clone(), "")),
        verify_token: token.unwrap_or_else(|| keep(|c| c.verify_token.clone(), "")),
        campaign: campaign.unwrap_or_else(|| keep(|c| c.campaign.clone(), "WhatsApp inbound")),
        medium: medium.unwrap_or_else(|| keep(|c| c.medium.clone(), "chat")),
        owner: setup
            .owner
            .clone()
            .or_else(|| current.as_ref().map(|c| c.owner.clone()))
            .unwrap_or(OwnerRule::RoundRobin),
        hook_key: match &current {
            Some(c) if !setup.rotate_hook_key => c.hook_key.clone(),
            _ => random_key(),
        },
        version: current.as_ref().map_or(1, |c| c.version + 1),
        updated_by: ctx.user_id.clone(),
        updated_at: now,
    };
    let mut unit = UnitOfWork::new(&app.db);
    let item = key_item(whatsapp_pk(keys), CHANNEL_SK, keys, &next)?;
    match &current {
        None => unit.create(item),
        Some(c) => unit.replace(item, c.version),
    };
    let table = unit.table().to_string();
    if let Some(c) = current.as_ref().filter(|c| c.hook_key != next.hook_key) {
        unit.include(delete(&table, hook_pk(&c.hook_key), HOOK_SK.into()));
    }
    unit.include(put(&table, key_item(hook_pk(&next.hook_key), HOOK_SK, keys, &next)?));
    // The audit says what changed, never the secrets' values.
    let mut changes = AuditRecord::diff(
        current.as_ref().map(|c| serde_json::json!(WhatsAppChannel::from(c))).as_ref(),
        &serde_json::json!(WhatsAppChannel::from(&next)),
        &["webhook_path", "campaign", "medium", "owner"],
    );
    for (field, changed) in [
        ("app_secret", current.as_ref().is_none_or(|c| c.app_secret != next.app_secret)),
        ("verify_token", current.as_ref().is_none_or(|c| c.verify_token != next.verify_token)),
    ] {
        if changed {
            changes.push(FieldChange {
                field: field.into(),
                before: serde_json::Value::Null,
                after: serde_json::json!("(changed)"),
            });
        }
    }
    unit.audit(keys, &meta.audit(&ctx, "capture.whatsapp.setup", "channel", "whatsapp", changes))?;
    match unit.commit().await {
        Ok(()) => Ok(Json(WhatsAppChannel::from(&next))),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: settings(&app, keys).await?.map(|c| c.version) })
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct Challenge {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

async fn hook(app: &AppState, hook_key: &str) -> Result<(TenantKeys, WhatsAppSettings), ApiError> {
    if !store::is_key(hook_key) {
        return Err(ApiError::NotFound);
    }
    store::open(&app.db, &hook_pk(hook_key), HOOK_SK).await?.ok_or(ApiError::NotFound)
}

/// WhatsApp's subscription check: answers `hub.challenge` when `hub.verify_token` is the channel's.
#[utoipa::path(
    get,
    path = "/api/webhooks/whatsapp/{hook_key}",
    tag = "capture",
    params(("hook_key" = Id, Path), Challenge),
    responses(
        (status = 200, description = "The challenge, answered back", body = String, content_type = "text/plain"),
        (status = 403, description = "Not the channel's verify token"),
    )
)]
pub async fn verify_webhook(
    State(app): State<AppState>,
    ApiPath(hook_key): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (_, settings) = hook(&app, &hook_key).await?;
    let q: Challenge = keel_http::parse_query(raw.as_deref())?;
    // Digests compared: how long the comparison takes tells nothing about the token.
    let digest = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes()).as_ref().to_vec();
    let token_ok = q.verify_token.as_deref().is_some_and(|t| digest(t) == digest(&settings.verify_token));
    // The challenge is answered back verbatim, so it may only be what WhatsApp sends (digits).
    let challenge =
        q.challenge.filter(|c| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()));
    match (q.mode.as_deref(), token_ok, challenge) {
        (Some("subscribe"), true, Some(challenge)) => {
            let mut r = (StatusCode::OK, challenge).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            Ok(r)
        }
        _ => Err(ApiError::Forbidden("The verify token does not match the channel's.")),
    }
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`, compared in
/// constant time.
pub fn signed(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex) = signature.and_then(|s| s.strip_prefix("sha256=")) else { return false };
    let Some(tag) = decode_hex(hex) else { return false };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    !secret.is_empty() && ring::hmac::verify(&key, body, &tag).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

// The parts of the Cloud API's delivery this reads (it sends more; unknown fields are ignored).
#[derive(Debug, Deserialize)]
struct Delivery {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    value: Option<ChangeValue>,
}

#[derive(Debug, Deserialize)]
struct ChangeValue {
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Debug, Deserialize)]
struct WaContact {
    wa_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    name: Option<String>,
}

// `id` and `from` are read as any value: a message whose id or sender is not text is skipped,
// not a reason to refuse the whole delivery (and have WhatsApp resend the good ones with it).
#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    id: serde_json::Value,
    #[serde(default)]
    from: serde_json::Value,
    #[serde(default)]
    timestamp: serde_json::Value,
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
    text: Option<MessageText>,
}

#[derive(Debug, Deserialize)]
struct MessageText {
    body: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookReceived {
    /// Messages taken (new, or seen before).
    pub messages: usize,
    /// Messages that could not be read (no valid phone): skipped.
    pub skipped: usize,
}

/// A name as WhatsApp shows it, as a lead's first and last name (one word: the last name says it
/// is unknown).
fn names(profile: Option<&str>, phone: &str) -> (String, String) {
    let clean = profile.and_then(|p| {
        let mut e = FieldErrors::default();
        line(&mut e, "name", Some(p), true, 100)
    });
    match clean.as_deref().map(|n| n.rsplit_once(' ')) {
        Some(Some((first, last))) => (first.trim().to_string(), last.trim().to_string()),
        Some(None) => (clean.unwrap_or_default(), "(WhatsApp)".into()),
        None => ("WhatsApp".into(), phone.to_string()),
    }
}

/// A delivery from the WhatsApp Cloud API, signed with the channel's app secret
/// (`X-Hub-Signature-256`). A bad or missing signature is refused before anything is read.
#[utoipa::path(
    post,
    path = "/api/webhooks/whatsapp/{hook_key}",
    tag = "capture",
    params(("hook_key" = Id, Path),
        ("X-Hub-Signature-256" = String, Header, description = "sha256=<HMAC-SHA256 of the body, hex>")),
    request_body(content = serde_json::Value, description = "The Cloud API's delivery", content_type = "application/json"),
    responses(
        (status = 200, description = "Taken", body = WebhookReceived),
        (status = 401, description = "Bad or missing signature"),
    )
)]
pub async fn receive_webhook(
    State(app): State<AppState>,
    ApiPath(hook_key): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<WebhookReceived>, ApiError> {
    let (keys, settings) = hook(&app, &hook_key).await?;
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signed(&settings.app_secret, &body, signature) {
        return Err(ApiError::BadSignature("The delivery's signature does not match the channel's app secret."));
    }
    let delivery: Delivery = serde_json::from_slice(&body)
        .map_err(|_| ApiError::Malformed("The delivery is not a WhatsApp Cloud API payload.".into()))?;
    let channel = Channel {
        actor_id: "whatsapp".into(),
        role: "whatsapp",
        request_id: meta.request_id.clone(),
        source_ip: meta.source_ip.clone(),
    };
    let mut received = WebhookReceived { messages: 0, skipped: 0 };
    for value in delivery.entry.iter().flat_map(|e| &e.changes).filter_map(|c| c.value.as_ref()) {
        let profiles: HashMap<&str, &str> = value
            .contacts
            .iter()
            .filter_map(|c| Some((c.wa_id.as_deref()?, c.profile.as_ref()?.name.as_deref()?)))
            .collect();
        for message in &value.messages {
            let profile = message.from.as_str().and_then(|from| profiles.get(from)).copied();
            match take_message(&app, &keys, &settings, &channel, message, profile).await? {
                true => received.messages += 1,
                false => received.skipped += 1,
            }
        }
    }
    Ok(Json(received))
}

/// A message's text as the timeline keeps it: control and direction-changing characters (which
/// could make it read otherwise than it was sent) dropped, line breaks and tabs kept.
fn readable(body: &str) -> String {
    body.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .filter(|c| !matches!(c, '\u{2028}' | '\u{2029}'))
        .take(BODY_MAX)
        .collect()
}

/// When a message was sent, if it is recent enough to be taken: its id is remembered for
/// `SEEN_HOURS`, so an older one could be applied twice. A time in the future is taken as now.
fn sent_at(timestamp: Option<&str>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let sent = timestamp.and_then(|t| t.parse::<i64>().ok()).and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
    match sent {
        Some(t) if t < now - chrono::Duration::hours(SEEN_HOURS - 12) => None,
        Some(t) => Some(t.min(now)),
        None => Some(now),
    }
}

/// Applies one message; false when it cannot be (no valid phone or id, or too old to be sure it
/// is new).
async fn take_message(
    app: &AppState,
    keys: &TenantKeys,
    settings: &WhatsAppSettings,
    channel: &Channel,
    message: &Message,
    profile: Option<&str>,
) -> Result<bool, ApiError> {
    let (Some(id), Some(from)) = (message.id.as_str(), message.from.as_str()) else { return Ok(false) };
    let phone = format!("+{}", from.trim_start_matches('+'));
    if id.is_empty() || id.len() > 200 || keel_core::Phone::parse(&phone).is_err() {
        return Ok(false);
    }
    let Some(occurred_at) = sent_at(message.timestamp.as_str(), Utc::now()) else {
        tracing::warn!("whatsapp message older than its dedupe window skipped");
        return Ok(false);
    };
    let (first_name, last_name) = names(profile, &phone);
    let draft = NewLead {
        first_name: Some(first_name),
        last_name: Some(last_name),
        phone: Some(phone.clone()),
        source: Some("WhatsApp".into()),
        campaign: Some(settings.campaign.clone()),
        medium: Some(settings.medium.clone()),
        ..NewLead::default()
    };
    // A profile name the lead rules refuse (a web address, say) must not lose the message.
    let lead = match draft.validate() {
        Ok(lead) => lead,
        Err(_) => NewLead { first_name: Some("WhatsApp".into()), last_name: Some(phone.clone()), ..draft }
            .validate()
            .map_err(ApiError::Validation)?,
    };
    let body = match message.kind.as_ref().map(|k| k.as_str().unwrap_or("unknown")) {
        Some("text") | None => {
            message.text.as_ref().and_then(|t| t.body.as_ref()).and_then(|b| b.as_str()).map(str::to_string)
        }
        Some(other) => Some(format!("[{other}]")),
    };
    let mut e = FieldErrors::default();
    let body: Option<String> = text(&mut e, "body", body.map(|b| readable(&b)).as_deref(), false, BODY_MAX);
    let logged = Logged {
        activity_type: ActivityType::Whatsapp,
        subject: "WhatsApp message received".into(),
        body,
        occurred_at,
    };
    let digest = keel_store::idempotency::fingerprint(id.as_bytes());
    let contact = Contact {
        channel,
        lead,
        owner: &settings.owner,
        fallback_owner: &settings.updated_by,
        logged_when_new: Some(logged.clone()),
        again: logged,
        consent: None,
        once: (format!("whatsapp#{digest}"), SEEN_HOURS),
    };
    let outcome = intake::apply(&app.db, keys, contact).await?;
    tracing::info!(outcome = outcome.as_str(), "whatsapp message applied");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_bodys_hmac_under_the_app_secret() {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        let tag = ring::hmac::sign(&key, b"{}");
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert!(signed("s3cret", b"{}", Some(&format!("sha256={hex}"))));
        assert!(!signed("s3cret", b"{ }", Some(&format!("sha256={hex}"))), "another body");
        assert!(!signed("other", b"{}", Some(&format!("sha256={hex}"))), "another secret");
        assert!(!signed("s3cret", b"{}", Some(&hex)), "no scheme");
        assert!(!signed("s3cret", b"{}", None));
        assert!(!signed("", b"{}", Some(&format!("sha256={hex}"))), "no secret set");
    }

    #[test]
    fn a_message_is_kept_readable_and_taken_only_while_its_id_is_remembered() {
        assert_eq!(readable("hi\u{202e}dlrow\u{0007}\nthere\u{2066}"), "hidlrow\nthere");
        let now = Utc::now();
        let at = |hours: i64| Some((now - chrono::Duration::hours(hours)).timestamp().to_string());
        assert!(sent_at(at(2).as_deref(), now).is_some());
        assert!(sent_at(at(7 * 24).as_deref(), now).is_some(), "WhatsApp's own retry window");
        assert!(sent_at(at(SEEN_HOURS).as_deref(), now).is_none(), "past the dedupe window");
        assert_eq!(sent_at(at(-5).as_deref(), now), Some(now), "the future is now");
        assert_eq!(sent_at(None, now), Some(now));
    }

    #[test]
    fn a_profile_name_becomes_first_and_last_name() {
        assert_eq!(names(Some("Ada King Lovelace"), "+1"), ("Ada King".into(), "Lovelace".into()));
        assert_eq!(names(Some("Ada"), "+1"), ("Ada".into(), "(WhatsApp)".into()));
        assert_eq!(names(None, "+4915112345678"), ("WhatsApp".into(), "+4915112345678".into()));
    }
}

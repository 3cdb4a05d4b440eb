//! `POST /api/forms/{form_key}/submit`: a visitor's submission of a company's website form. No
//! token: the form's public key names the company. The answer is the same whether the person was
//! new or known (a known lead gets the submission logged and a score bump, never a duplicate).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use keel_core::activity::ActivityType;
use keel_core::consent::{ConsentChannel, ConsentRecord, ConsentStatus};
use keel_core::form::{Form, FormFieldName, Submission, HONEYPOT};
use keel_http::json::RawBody;
use keel_http::{ApiError, ApiPath, AppState, Id, RequestMeta};
use keel_store::idempotency::fingerprint;
use keel_store::window_limit::{self, source, Limit};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::intake::{self, Channel, Contact, Logged};
use crate::store::{self, form_key_pk, FORM_KEY_SK};

/// A submission is a handful of short fields: anything bigger is not a person typing.
pub const SUBMISSION_LIMIT: usize = 16 * 1024;
const CAPTURE: &str = "_capture";
/// Submissions one address sends one form in ten minutes.
pub const FORM_ADDRESS_SUBMISSIONS: Limit =
    Limit { tenant: CAPTURE, name: "form-address", window_seconds: 600, max: 10 };
/// Submissions one address sends in ten minutes to any form (an office behind one address fills
/// in a few forms; a script trying every company's form stops here).
pub const ADDRESS_SUBMISSIONS: Limit = Limit { tenant: CAPTURE, name: "address", window_seconds: 600, max: 30 };
/// Valid submissions one form takes a minute, counted only once the address limits passed: one
/// address cannot use it up, and a campaign's burst fits; a flood from many addresses stops here.
pub const FORM_SUBMISSIONS: Limit = Limit { tenant: CAPTURE, name: "form", window_seconds: 60, max: 600 };
/// How long the same submission counts as one (a double click, a resent page).
const SAME_SUBMISSION_HOURS: i64 = 1;
/// The least time a submission that passed its limits takes to answer: a new person and a known one cost
/// different reads, and how long the answer took must not tell which it was.
const ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmissionReceived {
    /// Always `received`: the answer does not tell whether the person was known.
    pub status: String,
}

/// The submitted values, from JSON (an object of strings, numbers or booleans) or an HTML form.
fn values(headers: &HeaderMap, body: &[u8]) -> Result<(BTreeMap<String, String>, bool), ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if body.len() > SUBMISSION_LIMIT {
        return Err(ApiError::TooLarge("16 KB"));
    }
    match media.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| ApiError::Malformed("The form data could not be read.".into()))?;
            Ok((pairs.into_iter().collect(), true))
        }
        "application/json" => {
            let value: serde_json::Value = keel_http::json::parse(body)?;
            let Some(object) = value.as_object() else {
                return Err(ApiError::field("body", "must be an object of field names and values"));
            };
            let mut out = BTreeMap::new();
            for (k, v) in object {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Null => continue,
                    _ => return Err(ApiError::field(k, "must be a text, a number or true/false")),
                };
                out.insert(k.clone(), text);
            }
            Ok((out, false))
        }
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// What a known lead's timeline shows of the submission: the answers, labelled as on the form.
fn answers(form: &Form, values: &BTreeMap<String, String>) -> String {
    form.fields
        .iter()
        .filter_map(|f| {
            let v = values.get(f.name.as_str()).map(|v| v.trim()).filter(|v| !v.is_empty())?;
            let v: String = v.chars().take(if f.name == FormFieldName::Notes { 2_000 } else { 200 }).collect();
            Some(format!("{}: {v}", f.label))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Takes one of `limit` for `subject`; a window already refused is answered from memory.
async fn take(app: &AppState, limit: Limit, subject: &str) -> Result<(), ApiError> {
    if let Err(retry_after) = window_limit::take_remembered(&app.db, limit, subject).await? {
        return Err(ApiError::RateLimited { retry_after });
    }
    Ok(())
}

/// Submit a website form. Send the form's fields as JSON or as an HTML form
/// (`application/x-www-form-urlencoded`), with `consent` (`on`) when the visitor ticked the consent
/// box and the page's `utm_source` / `utm_campaign` / `utm_medium` when it has them. Leave the
/// hidden `nickname` field empty. The answer is 202 for a new person and a known one alike; an HTML
/// form post to a form with a `redirect_url` is sent there (303). A browser page whose origin the
/// form does not allow is refused.
#[utoipa::path(
    post,
    path = "/api/forms/{form_key}/submit",
    tag = "capture",
    params(("form_key" = Id, Path, description = "The form's public key")),
    request_body(content = BTreeMap<String, String>, description = "The form's fields",
        content_type = "application/json"),
    responses(
        (status = 202, description = "Received", body = SubmissionReceived),
        (status = 303, description = "Received; the browser goes to the form's redirect URL",
            headers(("Location" = String))),
        (status = 403, description = "The page's origin may not post this form"),
        (status = 429, description = "Too many submissions from this address or to this form",
            headers(("Retry-After" = i64))),
    )
)]
pub async fn submit_form(
    State(app): State<AppState>,
    ApiPath(form_key): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if !store::is_key(&form_key) {
        return Err(ApiError::NotFound);
    }
    let (values, html_form) = values(&headers, &body)?;
    let (keys, form): (_, Form) =
        store::open(&app.db, &form_key_pk(&form_key), FORM_KEY_SK).await?.ok_or(ApiError::NotFound)?;
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !form.allows_origin(origin) {
            return Err(ApiError::Forbidden(
                "This page may not post the form: add its origin to the form's allowed origins.",
            ));
        }
    }
    let form_id = form.id.to_string();
    let address = source(&meta.source_ip);
    let form_address = format!("{form_id}#{address}");
    tokio::try_join!(take(&app, FORM_ADDRESS_SUBMISSIONS, &form_address), take(&app, ADDRESS_SUBMISSIONS, &address),)?;
    let started = std::time::Instant::now();
    if values.get(HONEYPOT).is_some_and(|v| !v.trim().is_empty()) {
        tracing::info!(form_id = %form.id, "form submission dropped by its honeypot");
        return Ok(answer(&form, html_form, started).await);
    }
    let Submission { lead, consent } = form.submission(&values).map_err(ApiError::Validation)?;
    take(&app, FORM_SUBMISSIONS, &form_id).await?;
    let now = Utc::now();
    let channel = Channel {
        actor_id: format!("form:{form_id}"),
        role: "form",
        request_id: meta.request_id.clone(),
        source_ip: meta.source_ip.clone(),
    };
    let mut asked: BTreeMap<String, String> = values.clone();
    asked.retain(|k, _| k != HONEYPOT);
    let fingerprint = fingerprint(format!("{form_id}\n{}", serde_json::json!(asked)).as_bytes());
    let contact = Contact {
        channel: &channel,
        lead,
        owner: &form.owner,
        fallback_owner: &form.created_by,
        logged_when_new: None,
        again: Logged {
            activity_type: ActivityType::System,
            subject: format!("Sent the form “{}” again", form.name),
            body: Some(answers(&form, &values)).filter(|b| !b.is_empty()),
            occurred_at: now,
        },
        // The form's checkbox covers email: what its text asks people to agree to.
        consent: consent.then(|| ConsentRecord {
            id: Ulid::new(),
            channel: ConsentChannel::Email,
            status: ConsentStatus::Granted,
            source: channel.actor_id.clone(),
            proof: form.consent_text.clone().unwrap_or_default(),
            at: now,
            actor_id: None,
            source_ip: meta.source_ip.clone(),
        }),
        once: (format!("form#{form_id}#{fingerprint}"), SAME_SUBMISSION_HOURS),
    };
    let outcome = intake::apply(&app.db, &keys, contact).await?;
    tracing::info!(form_id = %form_id, outcome = outcome.as_str(), "form submission applied");
    Ok(answer(&form, html_form, started).await)
}

/// The answer, no sooner than `ANSWER_FLOOR` after `started`.
async fn answer(form: &Form, html_form: bool, started: std::time::Instant) -> Response {
    if let Some(rest) = ANSWER_FLOOR.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    received(form, html_form)
}

/// The answer, alike for a new and a known person. The embed posts an HTML form (a navigation,
/// which needs no CORS): the browser follows the 303 to the company's thank-you page.
fn received(form: &Form, html_form: bool) -> Response {
    match (&form.redirect_url, html_form) {
        (Some(url), true) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        _ => (StatusCode::ACCEPTED, Json(SubmissionReceived { status: "received".into() })).into_response(),
    }
}

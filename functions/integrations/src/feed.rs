//! The event feed. Events are outbox items (`pk = T#<tenant>#EVENTS`, `sk = EVT#<event ulid>`),
//! so the feed is one `Query` in id order.
//!
//! An event's id is minted before its transaction commits, so an event can become visible a
//! little after a later id. The feed therefore serves only ids older than a settle window (the
//! functions' 10 s timeout, after which no transaction can still commit): a client that stores
//! the last id it read and asks for `after=<that id>` never skips an event.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::Utc;
use keel_core::FieldErrors;
use keel_http::{query, ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::db::s;
use keel_store::{SortKeyRange, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// The `next_cursor` of the previous page, or the id of the last event you processed.
    #[param(pattern = "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$")]
    after: Option<String>,
    /// Comma-separated detail types, e.g. `LeadCreated,LeadArchived`.
    types: Option<String>,
    /// 1-200, default 100
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// A page of events, oldest first. Keep `next_cursor` (the last event's id) to continue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    /// Event envelopes: `event_id`, `detail_type`, `source`, `version`, `tenant_id`,
    /// `occurred_at`, `actor`, `detail`.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Where to continue; null when the page reached the settled end of the feed.
    pub next_cursor: Option<String>,
}

/// The company's events in order, for catching up after downtime (kept 30 days).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/events",
    tag = "integrations",
    params(("company_id" = Id, Path), FeedParams),
    responses((status = 200, description = "Events after the cursor, oldest first", body = EventPage)),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(query): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: FeedParams = keel_http::parse_query(query.as_deref())?;
    let now = Utc::now();
    let mut errors = FieldErrors::default();
    let limit = query::limit(&mut errors, params.limit, DEFAULT_LIMIT, MAX_LIMIT);
    let after = query::minted_ulid(&mut errors, "after", &params.after, now);
    let types: Vec<String> = params
        .types
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if types.len() > 20 || types.iter().any(|t| t.len() > 64 || !t.chars().all(|c| c.is_ascii_alphanumeric())) {
        errors.add("types", "must be up to 20 event types like LeadCreated");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }

    let settled = now - app.settings.feed_settle;
    // The smallest id minted after the settle point: everything below it has committed.
    let horizon = ulid::Ulid::from_parts(settled.timestamp_millis().max(0) as u64, 0);
    let lower = match after {
        Some(a) => format!("EVT#{a}"),
        None => "EVT#".to_string(),
    };
    // An `after` the settle point has not passed yet: nothing settled follows it so far.
    let Some(range) = SortKeyRange::between(&lower, format!("EVT#{horizon}")) else {
        return Ok(Json(EventPage { items: vec![], next_cursor: None }));
    };
    let mut req = app
        .db
        .client
        .query()
        .table_name(&app.db.table)
        .key_condition_expression("pk = :pk AND sk BETWEEN :lower AND :upper")
        .expression_attribute_values(":pk", s(keys.events()))
        .expression_attribute_values(":lower", s(range.low()))
        .expression_attribute_values(":upper", s(range.high()))
        .limit(limit as i32);
    if !types.is_empty() {
        let names: Vec<String> = (0..types.len()).map(|i| format!(":t{i}")).collect();
        req = req.filter_expression(format!("detail_type IN ({})", names.join(", ")));
        for (name, t) in names.iter().zip(&types) {
            req = req.expression_attribute_values(name, s(t));
        }
    }
    let out = req.send().await.map_err(StoreError::from_sdk)?;
    let mut items = Vec::new();
    for item in out.items.unwrap_or_default() {
        // BETWEEN is inclusive: the `after` event itself was already read.
        if item.get("sk").and_then(|v| v.as_s().ok()) == Some(&lower) {
            continue;
        }
        if let Some(text) = item.get("envelope").and_then(|v| v.as_s().ok()) {
            items.push(serde_json::from_str(text).map_err(|e| ApiError::Internal(e.to_string()))?);
        }
    }
    // DynamoDB's LastEvaluatedKey says whether more may follow; its sort key is our cursor.
    let next_cursor = out
        .last_evaluated_key
        .and_then(|k| k.get("sk").and_then(|v| v.as_s().ok()).map(|sk| sk.trim_start_matches("EVT#").to_string()));
    Ok(Json(EventPage { items, next_cursor }))
}

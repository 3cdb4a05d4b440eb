//! `GET /api/audit`: newest first, filtered by entity, actor and time, cursor-paged.
//!
//! One `Query`: by entity (gsi1) when `entity_type` and `entity_id` are given, else by actor
//! (gsi2) when `actor_id` is given, else the company's trail partition; `from`/`to` bound the
//! sort key (ULIDs sort by time); other filters are a FilterExpression.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::FieldErrors;
use keel_http::{query, ApiError, AppState, Page, Pager, Permission, TenantContext};
use keel_store::audit::{self, AuditRecord};
use keel_store::db::{from_item, s};
use keel_store::{SortKeyRange, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// e.g. `lead`
    #[param(max_length = 64)]
    entity_type: Option<String>,
    /// needs `entity_type`
    #[param(max_length = 64)]
    entity_id: Option<String>,
    #[param(max_length = 64)]
    actor_id: Option<String>,
    /// RFC 3339, inclusive
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339, inclusive; not before `from`
    #[param(format = DateTime)]
    to: Option<String>,
    /// 1-200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// What an audit cursor is bound to (besides the tenant).
#[derive(Serialize)]
struct AuditFilter<'a> {
    entity_type: Option<&'a str>,
    entity_id: Option<&'a str>,
    actor_id: Option<&'a str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// The company's audit trail (administrators only).
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "Audit records, newest first", body = Page<AuditRecord>),
        (status = 403, description = "Not an administrator"),
    ),
    security(("bearer" = []))
)]
pub async fn list_audit(
    State(app): State<AppState>,
    ctx: TenantContext,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    ctx.require(Permission::ReadAudit)?;
    let p: AuditParams = keel_http::parse_query(query.as_deref())?;
    let mut errors = FieldErrors::default();
    let entity_type = query::id(&mut errors, "entity_type", &p.entity_type);
    let entity_id = query::id(&mut errors, "entity_id", &p.entity_id);
    let actor = query::id(&mut errors, "actor_id", &p.actor_id);
    let (from, to) = query::time_range(&mut errors, ("from", &p.from), ("to", &p.to));
    if entity_id.is_some() && query::text(&p.entity_type).is_none() {
        errors.add("entity_type", "is required with entity_id");
    }
    let limit = query::limit(&mut errors, p.limit, DEFAULT_LIMIT, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let keys = &ctx.keys;
    let filter = AuditFilter {
        entity_type: entity_type.as_deref(),
        entity_id: entity_id.as_deref(),
        actor_id: actor.as_deref(),
        from,
        to,
    };
    let signer = app.cursors.signer().await?;
    let pager = Pager::new(&signer, keys, "audit", &filter);
    let start = pager.start(p.cursor.as_deref())?;

    let (index, pk_name, sk_name, pk, prefix) = match (&entity_type, &entity_id, &actor) {
        (Some(t), Some(id), _) => (Some("gsi1"), "gsi1pk", "gsi1sk", audit::by_entity(keys, t, id), ""),
        (_, _, Some(a)) => (Some("gsi2"), "gsi2pk", "gsi2sk", audit::by_actor(keys, a), ""),
        _ => (None, "pk", "sk", audit::partition(keys), "AUD#"),
    };
    let low = from.map(|t| ulid::Ulid::from_parts(t.timestamp_millis().max(0) as u64, 0)).unwrap_or(ulid::Ulid::nil());
    let high = to
        .map(|t| ulid::Ulid::from_parts(t.timestamp_millis().max(0) as u64, u128::MAX))
        .unwrap_or(ulid::Ulid::from_parts(u64::MAX >> 16, u128::MAX));
    let Some(range) = SortKeyRange::between(format!("{prefix}{low}"), format!("{prefix}{high}")) else {
        return Ok(Json(Page { items: vec![], next_cursor: None }));
    };
    let mut req = app
        .db
        .client
        .query()
        .table_name(&app.db.table)
        .set_index_name(index.map(str::to_string))
        .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
        .expression_attribute_names("#pk", pk_name)
        .expression_attribute_names("#sk", sk_name)
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":low", s(range.low()))
        .expression_attribute_values(":high", s(range.high()))
        .scan_index_forward(false)
        .limit(limit as i32)
        .set_exclusive_start_key(start);
    let mut filters = Vec::new();
    if index != Some("gsi1") {
        if let Some(t) = &entity_type {
            filters.push("entity_type = :t");
            req = req.expression_attribute_values(":t", s(t));
        }
    }
    if index == Some("gsi1") {
        if let Some(a) = &actor {
            filters.push("actor_id = :a");
            req = req.expression_attribute_values(":a", s(a));
        }
    }
    if !filters.is_empty() {
        req = req.filter_expression(filters.join(" AND "));
    }
    let out = req.send().await.map_err(StoreError::from_sdk)?;
    let items = out.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<Vec<AuditRecord>, _>>()?;
    Ok(Json(pager.page(items, out.last_evaluated_key)))
}

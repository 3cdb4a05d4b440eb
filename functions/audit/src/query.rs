//! `GET /api/audit`: newest first, filtered by entity, actor and time, cursor-paged.
//!
//! One `Query`: by entity (gsi1) when `entity_type` and `entity_id` are given, else by actor
//! (gsi2) when `actor_id` is given, else the company's trail partition; `from`/`to` bound the
//! sort key (ULIDs sort by time); other filters are a FilterExpression.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::FieldErrors;
use keel_http::{ApiError, AppState, Page, Pager, Permission, Problem, TenantContext};
use keel_store::audit::{self, AuditRecord};
use keel_store::db::{from_item, s};
use keel_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// e.g. `lead`
    entity_type: Option<String>,
    /// needs `entity_type`
    entity_id: Option<String>,
    actor_id: Option<String>,
    /// RFC 3339, inclusive
    from: Option<String>,
    /// RFC 3339, inclusive
    to: Option<String>,
    /// 1-200, default 50
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

fn time(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|v| !v.is_empty())?;
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errors.add(field, "must be an RFC 3339 time like 2026-11-25T14:00:00Z");
            None
        }
    }
}

/// The company's audit trail (administrators only).
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "Audit records, newest first", body = Page<AuditRecord>),
        (status = 400, description = "Invalid filter or cursor", body = Problem),
        (status = 401, description = "Missing or invalid token", body = Problem),
        (status = 403, description = "Not an administrator", body = Problem),
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
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let (entity_type, entity_id, actor) = (clean(&p.entity_type), clean(&p.entity_id), clean(&p.actor_id));
    let mut errors = FieldErrors::default();
    let from = time(&mut errors, "from", p.from.as_deref());
    let to = time(&mut errors, "to", p.to.as_deref());
    if entity_id.is_some() && entity_type.is_none() {
        errors.add("entity_type", "is required with entity_id");
    }
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
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
        .expression_attribute_values(":low", s(format!("{prefix}{low}")))
        .expression_attribute_values(":high", s(format!("{prefix}{high}")))
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

//! The leads context's access patterns. Each is one DynamoDB round trip: get = 1 `GetItem`,
//! capture / replace = 1 `TransactWriteItems` (lead + uniqueness markers + outbox event),
//! list = 1 `Query`. The lead's item layout and writes are `keel_store::leads`, which every
//! capture channel shares.

use std::collections::HashMap;

use keel_core::Lead;
use keel_store::db::s;
use keel_store::leads::from_lead_item;
use keel_store::{AttributeValue, Db, StoreError, TenantKeys};

pub use keel_store::leads::{capture, get, replace};

/// One page of a lead listing.
pub struct ListQuery<'a> {
    pub status: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub source: Option<&'a str>,
    pub score_band: Option<&'a str>,
    pub limit: i32,
    pub start: Option<HashMap<String, AttributeValue>>,
}

pub async fn list(
    db: &Db,
    keys: &TenantKeys,
    q: ListQuery<'_>,
) -> Result<(Vec<Lead>, Option<HashMap<String, AttributeValue>>), StoreError> {
    let (index, pk_name, pk) = match q.status {
        Some(status) => ("gsi2", "gsi2pk", keys.leads_by_status_index(status)),
        None => ("gsi1", "gsi1pk", keys.leads_index()),
    };
    let mut req = db
        .client
        .query()
        .table_name(&db.table)
        .index_name(index)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", pk_name)
        .expression_attribute_values(":pk", s(pk))
        .scan_index_forward(false)
        .limit(q.limit)
        .set_exclusive_start_key(q.start);
    let mut filters = Vec::new();
    for (name, attr, value) in
        [("#owner", "owner_id", q.owner_id), ("#source", "source", q.source), ("#band", "score_band", q.score_band)]
    {
        if let Some(v) = value {
            let placeholder = format!(":{}", attr);
            filters.push(format!("{name} = {placeholder}"));
            req = req.expression_attribute_names(name, attr).expression_attribute_values(placeholder, s(v));
        }
    }
    if !filters.is_empty() {
        req = req.filter_expression(filters.join(" AND "));
    }
    let out = req.send().await.map_err(StoreError::from_sdk)?;
    let leads = out.items.unwrap_or_default().into_iter().map(from_lead_item).collect::<Result<Vec<_>, _>>()?;
    Ok((leads, out.last_evaluated_key))
}

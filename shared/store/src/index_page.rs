//! One page of a tenant's list from an index: a partition, an optional sort-key prefix and
//! filters. Lists of every context page through it, so they page (and filter) alike.

use std::collections::HashMap;

use crate::db::s;
use crate::{AttributeValue, Db, Item, StoreError};

/// One page of an index query: `(index, partition)`, an optional sort-key prefix and filters
/// (attribute = value).
#[derive(Clone)]
pub struct IndexPage<'a> {
    /// A global secondary index, or [`TABLE`] for the table's own keys (a record's collection).
    pub index: &'static str,
    pub partition: String,
    pub prefix: Option<&'a str>,
    /// Sort keys in `[low, high]` (instead of a prefix).
    pub range: Option<(&'a str, &'a str)>,
    pub equals: Vec<(&'static str, &'a str)>,
    pub not_equals: Vec<(&'static str, &'a str)>,
    /// List attributes that must hold the value.
    pub contains: Vec<(&'static str, &'a str)>,
    /// String attributes that must lie in `[low, high]` (dates).
    pub between: Vec<(&'static str, &'a str, &'a str)>,
    pub limit: i32,
    pub start: Option<HashMap<String, AttributeValue>>,
    /// Newest (highest sort key) first.
    pub descending: bool,
}

impl<'a> IndexPage<'a> {
    /// The first page of `(index, partition)` under `prefix` (all of it when `None`), oldest
    /// first, unfiltered: what most reads start from, the rest set by struct update
    /// (`IndexPage { descending: true, ..IndexPage::collection(..) }`).
    pub fn collection(index: &'static str, partition: String, prefix: Option<&'a str>, limit: i32) -> Self {
        IndexPage {
            index,
            partition,
            prefix,
            range: None,
            equals: vec![],
            not_equals: vec![],
            contains: vec![],
            between: vec![],
            limit,
            start: None,
            descending: false,
        }
    }
}

/// `IndexPage::index` for a query of the table itself (`pk` / `sk`).
pub const TABLE: &str = "";

pub async fn page(
    db: &Db,
    q: IndexPage<'_>,
) -> Result<(Vec<Item>, Option<HashMap<String, AttributeValue>>), StoreError> {
    let (pk, sk) = (format!("{}pk", q.index), format!("{}sk", q.index));
    let mut req = db
        .client
        .query()
        .table_name(&db.table)
        .set_index_name((q.index != TABLE).then(|| q.index.to_string()))
        .expression_attribute_names("#pk", pk)
        .expression_attribute_values(":pk", s(q.partition))
        .limit(q.limit)
        .scan_index_forward(!q.descending)
        .set_exclusive_start_key(q.start);
    req = match (q.range, q.prefix.filter(|p| !p.is_empty())) {
        (Some((low, high)), _) => req
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#sk", sk)
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high)),
        (None, Some(prefix)) => req
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#sk", sk)
            .expression_attribute_values(":prefix", s(prefix)),
        (None, None) => req.key_condition_expression("#pk = :pk"),
    };
    let mut filters = Vec::new();
    for (i, (attr, value)) in q.equals.iter().enumerate() {
        filters.push(format!("#f{i} = :f{i}"));
        req = req
            .expression_attribute_names(format!("#f{i}"), *attr)
            .expression_attribute_values(format!(":f{i}"), s(*value));
    }
    for (i, (attr, value)) in q.not_equals.iter().enumerate() {
        filters.push(format!("#n{i} <> :n{i}"));
        req = req
            .expression_attribute_names(format!("#n{i}"), *attr)
            .expression_attribute_values(format!(":n{i}"), s(*value));
    }
    for (i, (attr, value)) in q.contains.iter().enumerate() {
        filters.push(format!("contains(#c{i}, :c{i})"));
        req = req
            .expression_attribute_names(format!("#c{i}"), *attr)
            .expression_attribute_values(format!(":c{i}"), s(*value));
    }
    for (i, (attr, low, high)) in q.between.iter().enumerate() {
        filters.push(format!("#b{i} BETWEEN :bl{i} AND :bh{i}"));
        req = req
            .expression_attribute_names(format!("#b{i}"), *attr)
            .expression_attribute_values(format!(":bl{i}"), s(*low))
            .expression_attribute_values(format!(":bh{i}"), s(*high));
    }
    if !filters.is_empty() {
        req = req.filter_expression(filters.join(" AND "));
    }
    let out = req.send().await.map_err(StoreError::from_sdk)?;
    Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
}

/// Every item `q` selects, its pages followed to the end (`q.start` and `q.limit`, the page
/// size, as given): for a collection bounded by one record, never by the tenant's size.
pub async fn every(db: &Db, mut q: IndexPage<'_>) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    loop {
        let next = IndexPage { start: q.start.take(), ..q.clone() };
        let (items, last) = page(db, next).await?;
        out.extend(items);
        match last {
            Some(last) => q.start = Some(last),
            None => return Ok(out),
        }
    }
}

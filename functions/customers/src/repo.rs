//! The customers context's reads (writes go through `UnitOfWork` in each handler, with the item
//! layout of `keel_store::crm`).

use std::collections::HashMap;

use keel_core::account::Account;
use keel_core::contact::Contact;
use keel_store::crm;
use keel_store::db::s;
use keel_store::{AttributeValue, Db, Item, StoreError, TenantKeys};

pub async fn account(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Account>, StoreError> {
    db.get_as(&crm::account_pk(keys, id), crm::ACCOUNT_SK).await
}

pub async fn contact(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Contact>, StoreError> {
    db.get_as(&crm::contact_pk(keys, id), crm::CONTACT_SK).await
}

/// One page of an index query: `(index, partition)`, an optional sort-key prefix and filters
/// (attribute = value).
pub struct IndexPage<'a> {
    pub index: &'static str,
    pub partition: String,
    pub prefix: Option<&'a str>,
    pub equals: Vec<(&'static str, &'a str)>,
    pub not_equals: Vec<(&'static str, &'a str)>,
    /// List attributes that must hold the value.
    pub contains: Vec<(&'static str, &'a str)>,
    pub limit: i32,
    pub start: Option<HashMap<String, AttributeValue>>,
}

pub async fn page(
    db: &Db,
    q: IndexPage<'_>,
) -> Result<(Vec<Item>, Option<HashMap<String, AttributeValue>>), StoreError> {
    let (pk, sk) = (format!("{}pk", q.index), format!("{}sk", q.index));
    let mut req = db
        .client
        .query()
        .table_name(&db.table)
        .index_name(q.index)
        .expression_attribute_names("#pk", pk)
        .expression_attribute_values(":pk", s(q.partition))
        .limit(q.limit)
        .set_exclusive_start_key(q.start);
    req = match q.prefix.filter(|p| !p.is_empty()) {
        Some(prefix) => req
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#sk", sk)
            .expression_attribute_values(":prefix", s(prefix)),
        None => req.key_condition_expression("#pk = :pk"),
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
    if !filters.is_empty() {
        req = req.filter_expression(filters.join(" AND "));
    }
    let out = req.send().await.map_err(StoreError::from_sdk)?;
    Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
}

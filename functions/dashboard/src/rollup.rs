//! The leads rollup item: `pk = T#<tenant>#ROLLUP#LEADS`, `sk = ROLLUP`, one number attribute per
//! bucket (`total`, `status#new`, `source#Google Ads`, `band#hot`, …). Every change is an `ADD`, so
//! events can be applied in any order and the counts converge.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use keel_events::lead::LeadCreated;
use keel_store::db::{n, s};
use keel_store::{Db, TenantKeys};

pub const SK: &str = "ROLLUP";

pub fn pk(keys: &TenantKeys) -> String {
    keys.key("ROLLUP#LEADS")
}

/// The buckets a lead counts in.
pub fn buckets(lead: &LeadCreated) -> [String; 3] {
    [
        format!("status#{}", lead.status.as_str()),
        format!("source#{}", lead.source),
        format!("band#{}", lead.score_band.as_str()),
    ]
}

/// Net change per bucket between two summaries of a lead (`None` = not counted).
pub fn delta(before: Option<&LeadCreated>, after: Option<&LeadCreated>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    if before.is_none() && after.is_some() {
        out.insert("total".to_string(), 1);
    }
    for b in before.map(buckets).into_iter().flatten() {
        *out.entry(b).or_insert(0) -= 1;
    }
    for b in after.map(buckets).into_iter().flatten() {
        *out.entry(b).or_insert(0) += 1;
    }
    out.retain(|_, v| *v != 0);
    out
}

/// One `ADD` update of the rollup item, or nothing when no bucket changes.
pub fn update(db: &Db, keys: &TenantKeys, delta: &BTreeMap<String, i64>) -> Option<TransactWriteItem> {
    if delta.is_empty() {
        return None;
    }
    let mut expr = Vec::new();
    let mut update = Update::builder().table_name(&db.table).key("pk", s(pk(keys))).key("sk", s(SK));
    for (i, (bucket, by)) in delta.iter().enumerate() {
        expr.push(format!("#b{i} :v{i}"));
        update = update
            .expression_attribute_names(format!("#b{i}"), bucket)
            .expression_attribute_values(format!(":v{i}"), n(by));
    }
    let update = update
        .update_expression(format!("ADD {} SET updated_at = :now, entity = :entity", expr.join(", ")))
        .expression_attribute_values(":now", s(chrono::Utc::now().to_rfc3339()))
        .expression_attribute_values(":entity", s("rollup"))
        .build()
        .expect("table, key and expression are set");
    Some(TransactWriteItem::builder().update(update).build())
}

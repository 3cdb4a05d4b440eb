//! The leads rollup item: `pk = T#<tenant>#ROLLUP#LEADS`, `sk = ROLLUP`, one number attribute per
//! bucket (`total`, `status#new`, `source#Google Ads`, `band#hot`, …). Every change is an `ADD`, so
//! events can be applied in any order and the counts converge.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use keel_events::lead::LeadCreated;
use keel_store::db::{n, s};
use keel_store::{Db, TenantKeys};

pub const SK: &str = "ROLLUP";
pub const SOURCE_PREFIX: &str = "source#";
/// Named sources one rollup item counts; sources are free text, and an item must stay far below
/// DynamoDB's 400 KB whatever a tenant's imports bring.
pub const MAX_TRACKED_SOURCES: usize = 100;
/// Where sources beyond the cap are counted.
pub const OTHER_SOURCES: &str = "source#(other)";

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

/// `delta` with the sources the rollup `item` does not track (and has no room for) moved to
/// [`OTHER_SOURCES`].
pub fn cap_sources(delta: BTreeMap<String, i64>, item: &keel_store::Item) -> BTreeMap<String, i64> {
    let mut tracked = item.keys().filter(|k| k.starts_with(SOURCE_PREFIX)).count();
    let mut out = BTreeMap::new();
    for (bucket, by) in delta {
        let bucket = if !bucket.starts_with(SOURCE_PREFIX) || item.contains_key(&bucket) || bucket == OTHER_SOURCES {
            bucket
        } else if tracked < MAX_TRACKED_SOURCES {
            tracked += 1;
            bucket
        } else {
            OTHER_SOURCES.to_string()
        };
        *out.entry(bucket).or_insert(0) += by;
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

#[cfg(test)]
mod tests {
    use super::*;
    use keel_store::db::n;

    #[test]
    fn sources_past_the_cap_count_as_other() {
        let mut item = keel_store::Item::new();
        for i in 0..MAX_TRACKED_SOURCES {
            item.insert(format!("{SOURCE_PREFIX}s{i}"), n(1));
        }
        let delta = BTreeMap::from([
            ("source#s7".to_string(), 1),
            ("source#brand new".to_string(), 1),
            ("status#new".to_string(), 1),
        ]);
        let capped = cap_sources(delta, &item);
        assert_eq!(capped.get("source#s7"), Some(&1), "tracked sources keep their bucket");
        assert_eq!(capped.get(OTHER_SOURCES), Some(&1), "new sources past the cap go to other");
        assert!(!capped.contains_key("source#brand new"));
        // With room left, a new source gets its own bucket.
        let roomy = cap_sources(BTreeMap::from([("source#fresh".to_string(), 1)]), &keel_store::Item::new());
        assert_eq!(roomy.get("source#fresh"), Some(&1));
        // A lead moving between two untracked sources past the cap nets to nothing.
        let moved = cap_sources(BTreeMap::from([("source#a".to_string(), -1), ("source#b".to_string(), 1)]), &item);
        assert!(moved.is_empty(), "{moved:?}");
    }
}

//! The possible-duplicate index (`keel_core::duplicates`): each lead filed under its match keys —
//! `T#t#MATCH#<key>` / `LEAD#<id>`, holding the lead's id and its name as compared — and, in the
//! lead's partition, the keys it is filed under now with the lead version they were taken from
//! (`LEAD#<id>` / `MATCHKEYS`). The `duplicate-index` consumer keeps both from lead events; a lead
//! whose personal fields are emptied (erased) or that is merged away files under nothing.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use keel_core::duplicates::{is_candidate, match_keys, name_key, name_similarity, MatchKey};
use keel_core::Lead;

use crate::db::{self, n, s};
use crate::index_page::{self, IndexPage, TABLE};
use crate::{Db, Item, StoreError, TenantKeys};

pub const FILED_SK: &str = "MATCHKEYS";
const ENTRY_PREFIX: &str = "LEAD#";

/// Leads read from one key's partition, newest first: a key shared by more (a big customer's
/// company name) is looked at by its newest leads, which is where a new duplicate comes from.
pub const PER_KEY: i32 = 200;

fn key_pk(keys: &TenantKeys, key: &str) -> String {
    keys.key(&format!("MATCH#{key}"))
}

/// The keys a lead is filed under and the lead version they were taken from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filed {
    pub keys: BTreeSet<String>,
    pub version: u64,
}

/// What the lead is filed under now (1 GetItem; nothing before the consumer first saw it).
pub async fn filed(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<Option<Filed>, StoreError> {
    let Some(item) = db.get(&keys.lead(lead_id), FILED_SK).await? else {
        return Ok(None);
    };
    let list = item.get("keys").and_then(|v| v.as_l().ok()).cloned().unwrap_or_default();
    let version = item.get("version").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Some(Filed { keys: list.iter().filter_map(|v| v.as_s().ok().cloned()).collect(), version }))
}

/// The keys `lead` belongs under now.
pub fn wanted(lead: &Lead) -> BTreeSet<String> {
    match_keys(lead).iter().map(MatchKey::as_str).collect()
}

/// The writes that file `lead` under `wanted` where `was` (read just before) filed it: the
/// entries it gains, the ones it leaves, and the record of both, conditioned on `was` still being
/// what is stored — a consumer that read an older state loses the race and reads again.
pub fn refile(
    db: &Db,
    keys: &TenantKeys,
    lead: &Lead,
    wanted: &BTreeSet<String>,
    was: Option<&Filed>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let empty = BTreeSet::new();
    let before = was.map_or(&empty, |f| &f.keys);
    let lead_id = lead.id.to_string();
    let name = name_key(&lead.first_name, &lead.last_name);
    let mut writes = Vec::new();
    for key in wanted {
        // Every entry is written again, not only new ones: the name it holds may have changed.
        let entry = Item::from([
            ("pk".into(), s(key_pk(keys, key))),
            ("sk".into(), s(format!("{ENTRY_PREFIX}{lead_id}"))),
            ("entity".into(), s("lead_match")),
            ("lead_id".into(), s(&lead_id)),
            ("name".into(), s(&name)),
        ]);
        writes.push(db::put(&db.table, entry));
    }
    for key in before.difference(wanted) {
        writes.push(db::delete(&db.table, key_pk(keys, key), format!("{ENTRY_PREFIX}{lead_id}")));
    }
    let record = Item::from([
        ("pk".into(), s(keys.lead(&lead_id))),
        ("sk".into(), s(FILED_SK)),
        ("entity".into(), s("lead_match_keys")),
        ("keys".into(), aws_sdk_dynamodb::types::AttributeValue::L(wanted.iter().map(s).collect())),
        ("version".into(), n(lead.version)),
    ]);
    let put = Put::builder().table_name(&db.table).set_item(Some(record));
    let put = match was {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(f) => put.condition_expression("version = :read").expression_attribute_values(":read", n(f.version)),
    };
    writes.push(TransactWriteItem::builder().put(put.build().map_err(|e| StoreError::Other(e.to_string()))?).build());
    Ok(writes)
}

/// The leads filed under a key `lead` has whose entry passes its rule (a name alike enough
/// where the rule asks for one), at most `limit`, the most alike first: one Query of each key
/// the lead has (at most four, at once), [`PER_KEY`] newest leads each. The entries can run
/// behind the leads (the consumer files them after the change): the caller compares the leads
/// themselves (`keel_core::duplicates::compare`).
pub async fn candidates(db: &Db, keys: &TenantKeys, lead: &Lead, limit: usize) -> Result<Vec<String>, StoreError> {
    let own_id = lead.id.to_string();
    let name = name_key(&lead.first_name, &lead.last_name);
    let reads = match_keys(lead).into_iter().map(|key| async move {
        let q =
            IndexPage { descending: true, ..IndexPage::collection(TABLE, key_pk(keys, &key.as_str()), None, PER_KEY) };
        index_page::page(db, q).await.map(|(items, _)| (key.rule, items))
    });
    let mut found: BTreeMap<String, f64> = BTreeMap::new();
    for read in futures::future::join_all(reads).await {
        let (rule, items) = read?;
        for item in items {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let other = text("lead_id");
            let similarity = name_similarity(&name, &text("name"));
            if other.is_empty() || other == own_id || !is_candidate(rule, similarity) {
                continue;
            }
            // An exact contact point ranks above any name.
            let rank = if rule.exact() { 2.0 } else { similarity };
            let best = found.entry(other).or_insert(rank);
            *best = best.max(rank);
        }
    }
    let mut ranked: Vec<(String, f64)> = found.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(ranked.into_iter().take(limit).map(|(id, _)| id).collect())
}

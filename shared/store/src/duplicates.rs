//! The possible-duplicate index (`keel_core::duplicates`): each lead filed under its match keys —
//! `T#t#MATCH#<key>` / `<name block>#<lead id>`, holding the lead's id and its name as compared —
//! and, in the lead's partition, what it is filed under now with the lead version it was taken
//! from (`LEAD#<id>` / `DUPKEYS`: the keys, the name). The `duplicate-index` consumer keeps both
//! from lead events; a lead whose contact points and company are emptied files under nothing.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use keel_core::duplicates::{is_candidate, match_keys, name_block, name_key, name_similarity, MatchKey};
use keel_core::Lead;

use crate::db::{self, n, s};
use crate::index_page::{self, IndexPage, TABLE};
use crate::{Db, Item, StoreError, TenantKeys};

/// Sorts before `LEAD`, out of the range the lead's qualification history reads (`sk >= LEAD`).
pub const FILED_SK: &str = "DUPKEYS";

/// Entries read from one key: an email's or a phone's partition holds the few leads that share
/// it; a company's or domain's is read in the lead's name block only, so a big customer's
/// thousands of leads are a few of them. Beyond this many in one block, the newest are read.
pub const PER_KEY: i32 = 200;

fn entry_sk(block: &str, lead_id: &str) -> String {
    format!("{block}#{lead_id}")
}

fn key_pk(keys: &TenantKeys, key: &str) -> String {
    keys.key(&format!("MATCH#{key}"))
}

/// The keys a lead is filed under, the name it was filed by and the lead version they were taken
/// from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filed {
    pub keys: BTreeSet<String>,
    pub name: String,
    pub version: u64,
}

/// What the lead is filed under now (1 GetItem; nothing before the consumer first saw it).
pub async fn filed(db: &Db, keys: &TenantKeys, lead_id: &str) -> Result<Option<Filed>, StoreError> {
    let Some(item) = db.get(&keys.lead(lead_id), FILED_SK).await? else {
        return Ok(None);
    };
    let list = item.get("keys").and_then(|v| v.as_l().ok()).cloned().unwrap_or_default();
    let version = item.get("version").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let name = item.get("name").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    Ok(Some(Filed { keys: list.iter().filter_map(|v| v.as_s().ok().cloned()).collect(), name, version }))
}

/// The keys `lead` belongs under now.
pub fn wanted(lead: &Lead) -> BTreeSet<String> {
    match_keys(lead).iter().map(MatchKey::as_str).collect()
}

/// The writes that file `lead` under `wanted` where `was` (read just before) filed it: the
/// entries it gains (all of them again when its name changed: they hold it, and its block may
/// have moved), the ones it leaves, and the record of both, conditioned on `was` still being what
/// is stored — a consumer that read an older state loses the race and reads again. Nothing when
/// neither the keys nor the name changed (most lead edits).
pub fn refile(
    db: &Db,
    keys: &TenantKeys,
    lead: &Lead,
    wanted: &BTreeSet<String>,
    was: Option<&Filed>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let lead_id = lead.id.to_string();
    let name = name_key(&lead.first_name, &lead.last_name);
    if was.is_some_and(|f| f.keys == *wanted && f.name == name) {
        return Ok(vec![]);
    }
    let empty = BTreeSet::new();
    let before = was.map_or(&empty, |f| &f.keys);
    let old_block = was.map(|f| name_block(&f.name));
    let block = name_block(&name);
    let renamed = was.is_some_and(|f| f.name != name);
    let mut writes = Vec::new();
    for key in wanted.iter().filter(|k| renamed || !before.contains(*k)) {
        let entry = Item::from([
            ("pk".into(), s(key_pk(keys, key))),
            ("sk".into(), s(entry_sk(&block, &lead_id))),
            ("entity".into(), s("lead_match")),
            ("lead_id".into(), s(&lead_id)),
            ("name".into(), s(&name)),
        ]);
        writes.push(db::put(&db.table, entry));
    }
    if let Some(old_block) = old_block {
        for key in before {
            // Left, or moved to another block by a new name (an entry in the same block was
            // just written over).
            if !wanted.contains(key) || old_block != block {
                writes.push(db::delete(&db.table, key_pk(keys, key), entry_sk(&old_block, &lead_id)));
            }
        }
    }
    let record = Item::from([
        ("pk".into(), s(keys.lead(&lead_id))),
        ("sk".into(), s(FILED_SK)),
        ("entity".into(), s("lead_match_keys")),
        ("keys".into(), aws_sdk_dynamodb::types::AttributeValue::L(wanted.iter().map(s).collect())),
        ("name".into(), s(&name)),
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
/// the lead has (at most four, at once; a company's or domain's in the lead's name block only).
/// The entries can run behind the leads (the consumer files them after the change): the caller
/// compares the leads themselves (`keel_core::duplicates::compare`).
pub async fn candidates(db: &Db, keys: &TenantKeys, lead: &Lead, limit: usize) -> Result<Vec<String>, StoreError> {
    let own_id = lead.id.to_string();
    let name = name_key(&lead.first_name, &lead.last_name);
    let block = format!("{}#", name_block(&name));
    let reads = match_keys(lead).into_iter().map(|key| {
        let prefix = (!key.rule.exact()).then_some(block.as_str());
        async move {
            let partition = key_pk(keys, &key.as_str());
            let q = IndexPage { descending: true, ..IndexPage::collection(TABLE, partition, prefix, PER_KEY) };
            index_page::page(db, q).await.map(|(items, _)| (key.rule, items))
        }
    });
    let mut found: BTreeMap<String, f64> = BTreeMap::new();
    for read in futures::future::join_all(reads).await {
        let (rule, items) = read?;
        for item in items {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let other = text("lead_id");
            let similarity = name_similarity(&name, &text("name"));
            // The same phone's digits are read whatever the name: `compare` tells the same
            // number from another country's.
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

//! Reads many of a company's items at once (`BatchGetItem`, 100 keys a call, what the table
//! leaves unprocessed read again): which leads hold a batch's emails and phones, and those leads.

use std::collections::HashMap;

use keel_core::Lead;

use crate::db::s;
use crate::leads::{from_lead_item, LEAD_SK, MARKER_SK};
use crate::{AttributeValue, Db, Item, StoreError, TenantKeys};

/// Keys one `BatchGetItem` reads.
const BATCH_KEYS: usize = 100;

/// Which of these marker keys a lead holds, and which lead.
pub async fn holders(db: &Db, mut markers: Vec<String>) -> Result<HashMap<String, String>, StoreError> {
    // A batch names each key once (rows repeating an email are the point of looking).
    markers.sort();
    markers.dedup();
    let wanted: Vec<Item> =
        markers.iter().map(|pk| Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(MARKER_SK))])).collect();
    let mut found = HashMap::new();
    for item in get_all(db, wanted, Some("pk, lead_id")).await? {
        let text = |k: &str| item.get(k).and_then(|v: &AttributeValue| v.as_s().ok()).cloned();
        if let (Some(pk), Some(lead)) = (text("pk"), text("lead_id")) {
            found.insert(pk, lead);
        }
    }
    Ok(found)
}

/// These leads of the company, by id (the ones that exist).
pub async fn leads(db: &Db, keys: &TenantKeys, mut ids: Vec<String>) -> Result<HashMap<String, Lead>, StoreError> {
    ids.sort();
    ids.dedup();
    let wanted: Vec<Item> = ids
        .iter()
        .map(|id| Item::from([("pk".to_string(), s(keys.lead(id))), ("sk".to_string(), s(LEAD_SK))]))
        .collect();
    let mut found = HashMap::new();
    for item in get_all(db, wanted, None).await? {
        let lead = from_lead_item(item)?;
        found.insert(lead.id.to_string(), lead);
    }
    Ok(found)
}

/// Every item of `keys` that exists, `projection` of each.
async fn get_all(db: &Db, keys: Vec<Item>, projection: Option<&str>) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(BATCH_KEYS) {
        let mut pending: Vec<Item> = chunk.to_vec();
        while !pending.is_empty() {
            let keys_and_attributes = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .set_projection_expression(projection.map(str::to_string))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let answer = db
                .client
                .batch_get_item()
                .request_items(&db.table, keys_and_attributes)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            out.extend(answer.responses.unwrap_or_default().remove(&db.table).unwrap_or_default());
            pending = answer.unprocessed_keys.and_then(|mut u| u.remove(&db.table)).map(|k| k.keys).unwrap_or_default();
            if !pending.is_empty() {
                // The table is busy: give it a moment before reading what it left.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    Ok(out)
}

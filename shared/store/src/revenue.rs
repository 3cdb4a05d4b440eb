//! How pipelines, their stage slots, quotas and the revenue rollups lie in the table (the deals
//! context owns them; conversion touches the slot and the account counter of the deal it creates).
//!
//! | item                      | pk                              | sk                          |
//! |---------------------------|---------------------------------|-----------------------------|
//! | pipeline                  | `T#t#PIPELINE#<id>`             | `PIPELINE` (gsi1 `T#t#PIPELINES` / `<id>`) |
//! | stage slot (occupancy)    | `T#t#PIPELINE#<id>`             | `SLOT#<stage>`: `deals`, `removed` |
//! | forecast, now             | `T#t#FORECAST#<quarter>`        | `NOW#<owner>`               |
//! | forecast, day's change    | `T#t#FORECAST#<quarter>`        | `DAY#<yyyy-mm-dd>#<owner>`  |
//! | forecast, month's change  | `T#t#FORECAST#<quarter>`        | `MON#<yyyy-mm>#<owner>`     |
//! | forecast change record    | `T#t#FORECAST#<quarter>`        | `CHG#<occurred at>#<event>` |
//! | board column totals       | `T#t#PIPETOTALS#<pipeline>`     | `STAGE#<stage>`             |
//! | month of the trends       | `T#t#TRENDS`                    | `MONTH#<yyyy-mm>`           |
//! | quota                     | `T#t#QUOTA#<quarter>`           | `OWNER#<owner>`             |
//!
//! The slot counts a stage's live deals exactly, inside the transactions that move deals, so a
//! stage that holds deals cannot be removed even by a race: the removal sets `removed` only where
//! `deals = 0`, and a deal enters only where `removed` is not set.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use keel_core::forecast::{Cell, Tally};

use crate::db::{n, s};
use crate::TenantKeys;

pub const PIPELINE_SK: &str = "PIPELINE";

pub fn pipeline_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("PIPELINE#{id}"))
}

pub fn pipelines_index(keys: &TenantKeys) -> String {
    keys.key("PIPELINES")
}

pub fn slot_sk(stage: &str) -> String {
    format!("SLOT#{stage}")
}

pub fn forecast_pk(keys: &TenantKeys, period: &str) -> String {
    keys.key(&format!("FORECAST#{period}"))
}

pub const NOW: &str = "NOW#";
pub const DAY: &str = "DAY#";
pub const MONTH: &str = "MON#";
pub const CHANGE: &str = "CHG#";

/// How long a period's change records are kept after it ends (its "what moved" list).
pub const CHANGE_RETENTION_DAYS: i64 = 2 * 366;

pub fn day_sk(day: NaiveDate, owner: &str) -> String {
    format!("{DAY}{day}#{owner}")
}

pub fn month_change_sk(day: NaiveDate, owner: &str) -> String {
    format!("{MONTH}{}#{owner}", day.format("%Y-%m"))
}

pub fn change_sk(at: DateTime<Utc>, event_id: &str) -> String {
    format!("{CHANGE}{}#{event_id}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

pub fn pipeline_totals_pk(keys: &TenantKeys, pipeline: &str) -> String {
    keys.key(&format!("PIPETOTALS#{pipeline}"))
}

pub fn trends_pk(keys: &TenantKeys) -> String {
    keys.key("TRENDS")
}

pub fn month_sk(month: &str) -> String {
    format!("MONTH#{month}")
}

pub fn quota_pk(keys: &TenantKeys, period: &str) -> String {
    keys.key(&format!("QUOTA#{period}"))
}

pub fn quota_sk(owner: &str) -> String {
    format!("OWNER#{owner}")
}

/// A deal enters `stage`: counted, unless the stage was removed meanwhile (the item's failed
/// condition is the caller's refusal).
pub fn enter_slot(table: &str, keys: &TenantKeys, pipeline: &str, stage: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pipeline_pk(keys, pipeline)))
        .key("sk", s(slot_sk(stage)))
        .update_expression("ADD deals :one SET entity = :entity")
        .condition_expression("attribute_not_exists(removed)")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":entity", s("stage_slot"))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// A deal leaves `stage` (moved on or archived).
pub fn leave_slot(table: &str, keys: &TenantKeys, pipeline: &str, stage: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pipeline_pk(keys, pipeline)))
        .key("sk", s(slot_sk(stage)))
        .update_expression("ADD deals :minus")
        .expression_attribute_values(":minus", n(-1))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// Closes a stage to new deals, only where it holds none.
pub fn remove_slot(table: &str, keys: &TenantKeys, pipeline: &str, stage: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pipeline_pk(keys, pipeline)))
        .key("sk", s(slot_sk(stage)))
        .update_expression("SET removed = :yes, entity = :entity")
        .condition_expression("attribute_not_exists(deals) OR deals = :zero")
        .expression_attribute_values(":yes", crate::AttributeValue::Bool(true))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":entity", s("stage_slot"))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// Holds only while the stage has no deals (a stage changing between open, won and lost).
pub fn slot_empty(table: &str, keys: &TenantKeys, pipeline: &str, stage: &str) -> TransactWriteItem {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .key("pk", s(pipeline_pk(keys, pipeline)))
        .key("sk", s(slot_sk(stage)))
        .condition_expression("attribute_not_exists(deals) OR deals = :zero")
        .expression_attribute_values(":zero", n(0))
        .build()
        .expect("table, key and condition are set");
    TransactWriteItem::builder().condition_check(check).build()
}

/// Opens a stage (again) to deals.
pub fn open_slot(table: &str, keys: &TenantKeys, pipeline: &str, stage: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pipeline_pk(keys, pipeline)))
        .key("sk", s(slot_sk(stage)))
        .update_expression("SET entity = :entity REMOVE removed")
        .expression_attribute_values(":entity", s("stage_slot"))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// The account's open-opportunity counter moves by `delta` with a deal's create, loss or archive.
/// The account's version moves too, so an edit based on an older read of the account is stale
/// instead of overwriting the counter.
pub fn account_open_deals(table: &str, keys: &TenantKeys, account_id: &str, delta: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(crate::crm::account_pk(keys, account_id)))
        .key("sk", s(crate::crm::ACCOUNT_SK))
        .update_expression("ADD open_opportunities :delta, version :one")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":delta", n(delta))
        .expression_attribute_values(":one", n(1))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// `ADD`s of one rollup item's counters.
fn add_counters(
    table: &str,
    pk: String,
    sk: String,
    attrs: &std::collections::BTreeMap<String, i64>,
) -> TransactWriteItem {
    let mut update = Update::builder().table_name(table).key("pk", s(pk)).key("sk", s(sk));
    let mut parts = Vec::new();
    for (i, (attr, v)) in attrs.iter().enumerate() {
        parts.push(format!("#a{i} :v{i}"));
        update = update
            .expression_attribute_names(format!("#a{i}"), attr)
            .expression_attribute_values(format!(":v{i}"), n(*v));
    }
    let update = update
        .update_expression(format!("ADD {} SET entity = :entity", parts.join(", ")))
        .expression_attribute_values(":entity", s("rollup"))
        .build()
        .expect("table, key and expression are set");
    TransactWriteItem::builder().update(update).build()
}

/// The rollup writes of one change, dated `day` (the forecast's history is the sum of its days,
/// kept also per month).
pub fn rollup_writes(table: &str, keys: &TenantKeys, delta: &Tally, day: NaiveDate) -> Vec<TransactWriteItem> {
    let mut out = Vec::new();
    for (cell, attrs) in delta {
        match cell {
            Cell::Forecast { period, owner } => {
                out.push(add_counters(table, forecast_pk(keys, period), format!("{NOW}{owner}"), attrs));
                out.push(add_counters(table, forecast_pk(keys, period), day_sk(day, owner), attrs));
                // The month's sum too, so an as-of read folds whole months and one month's days.
                out.push(add_counters(table, forecast_pk(keys, period), month_change_sk(day, owner), attrs));
            }
            Cell::Stage { pipeline, stage } => {
                out.push(add_counters(table, pipeline_totals_pk(keys, pipeline), format!("STAGE#{stage}"), attrs));
            }
            Cell::Month { month } => {
                out.push(add_counters(table, trends_pk(keys), month_sk(month), attrs));
            }
        }
    }
    out
}

/// The counters of a rollup item: its numeric attributes but the bookkeeping ones.
pub fn counters(item: &crate::Item) -> impl Iterator<Item = (&str, i64)> {
    item.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "pk" | "sk" | "entity" | "version"))
        .filter_map(|(k, v)| v.as_n().ok().and_then(|x| x.parse::<i64>().ok()).map(|x| (k.as_str(), x)))
}

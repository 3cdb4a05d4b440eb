//! How accounts, contacts, opportunities and activities lie in the table. Conversion (leads
//! context) and the customers context write the same items, so their layout lives here, once.
//!
//! Each record's partition is its **item collection**: the record, and the timeline entries of
//! the activities that relate to it (`ACT#<occurred at>#<id>`). An account's collection also holds a summary
//! of each of its contacts and opportunities, so its overview is one `Query`:
//!
//! | item                 | pk                         | sk               | gsi1 (tenant list)                | gsi2                                        | gsi3                                  |
//! |----------------------|----------------------------|------------------|-----------------------------------|---------------------------------------------|---------------------------------------|
//! | account              | `T#t#ACCOUNT#<id>`         | `PROFILE`        | `T#t#ACCOUNTS` / `<name key>#<id>` | `T#t#ACCOUNTS#LIFECYCLE#<lc>` / `<name key>#<id>` | `T#t#ACCOUNTS#DOMAIN#<domain>` / `<id>` |
//! | contact summary      | `T#t#ACCOUNT#<account>`    | `CONTACT#<id>`   |                                   |                                             |                                       |
//! | opportunity summary  | `T#t#ACCOUNT#<account>`    | `DEAL#<id>`      |                                   |                                             |                                       |
//! | contact              | `T#t#CONTACT#<id>`         | `CONTACT`        | `T#t#CONTACTS` / `<name key>#<id>` | `T#t#CONTACTS#ACCOUNT#<account>` / `<name key>#<id>` |                                       |
//! | opportunity          | `T#t#DEAL#<id>`            | `DEAL`           | `T#t#DEALS` (archived: `T#t#DEALS#ARCHIVED`) / `<id>` | `T#t#DEALS#STAGE#<pipeline>#<stage>` / `<close date>#<id>` (not archived) |                |
//! | stage visit          | `T#t#DEAL#<id>`            | `STAGE#<left at>` |                                  |                                             |                                       |
//! | activity             | `T#t#ACTIVITY#<id>`        | `ACTIVITY`       | `T#t#ACTIVITIES` / `<occurred at>#<id>` | `T#t#ACTIVITIES#OWNER#<owner>` / `<occurred at>#<id>` |                           |
//! | timeline entry       | `T#t#<LEAD|ACCOUNT|CONTACT|DEAL>#<id>` | `ACT#<occurred at>#<id>` |                        |                                             |                                       |
//!
//! Sort keys are chosen so that a descending `Query` of an account's collection reads the profile,
//! then its opportunity and contact summaries, then its timeline newest first ('P' > 'D' > 'C' >
//! 'A'): the overview stops after the latest activities, however long the history.

use keel_core::account::{name_key, Account};
use keel_core::activity::{Activity, RecordKind};
use keel_core::contact::Contact;
use keel_core::opportunity::Opportunity;
use serde::{Deserialize, Serialize};

use crate::db::{s, to_item};
use crate::{Item, StoreError, TenantKeys};

pub const ACCOUNT_SK: &str = "PROFILE";
pub const CONTACT_SK: &str = "CONTACT";
pub const DEAL_SK: &str = "DEAL";
pub const ACTIVITY_SK: &str = "ACTIVITY";
pub const CONTACT_SUMMARY: &str = "CONTACT#";
pub const DEAL_SUMMARY: &str = "DEAL#";
pub const TIMELINE: &str = "ACT#";

pub fn account_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("ACCOUNT#{id}"))
}

pub fn contact_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("CONTACT#{id}"))
}

pub fn deal_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("DEAL#{id}"))
}

pub fn activity_pk(keys: &TenantKeys, id: &str) -> String {
    keys.key(&format!("ACTIVITY#{id}"))
}

/// The partition whose collection holds `kind`'s timeline.
pub fn record_pk(keys: &TenantKeys, kind: RecordKind, id: &str) -> String {
    match kind {
        RecordKind::Lead => keys.lead(id),
        RecordKind::Account => account_pk(keys, id),
        RecordKind::Contact => contact_pk(keys, id),
        RecordKind::Deal => deal_pk(keys, id),
    }
}

/// The sort key of the record itself in its collection.
pub fn record_sk(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Lead => "LEAD",
        RecordKind::Account => ACCOUNT_SK,
        RecordKind::Contact => CONTACT_SK,
        RecordKind::Deal => DEAL_SK,
    }
}

pub fn accounts_index(keys: &TenantKeys) -> String {
    keys.key("ACCOUNTS")
}

pub fn accounts_by_lifecycle_index(keys: &TenantKeys, lifecycle: &str) -> String {
    keys.key(&format!("ACCOUNTS#LIFECYCLE#{lifecycle}"))
}

pub fn accounts_by_domain_index(keys: &TenantKeys, domain: &str) -> String {
    keys.key(&format!("ACCOUNTS#DOMAIN#{domain}"))
}

pub fn contacts_index(keys: &TenantKeys) -> String {
    keys.key("CONTACTS")
}

pub fn contacts_of_account_index(keys: &TenantKeys, account_id: &str) -> String {
    keys.key(&format!("CONTACTS#ACCOUNT#{account_id}"))
}

/// Sorts by name, then id (two accounts may share a name).
fn name_sort(name: &str, id: &str) -> String {
    format!("{}#{id}", name_key(name))
}

pub fn account_item(keys: &TenantKeys, a: &Account) -> Result<Item, StoreError> {
    let id = a.id.to_string();
    let mut item = to_item(a)?;
    item.insert("pk".into(), s(account_pk(keys, &id)));
    item.insert("sk".into(), s(ACCOUNT_SK));
    item.insert("entity".into(), s("account"));
    item.insert("name_key".into(), s(name_key(&a.name)));
    item.insert("gsi1pk".into(), s(accounts_index(keys)));
    item.insert("gsi1sk".into(), s(name_sort(&a.name, &id)));
    item.insert("gsi2pk".into(), s(accounts_by_lifecycle_index(keys, a.lifecycle.as_str())));
    item.insert("gsi2sk".into(), s(name_sort(&a.name, &id)));
    if let Some(domain) = &a.domain {
        item.insert("gsi3pk".into(), s(accounts_by_domain_index(keys, domain)));
        item.insert("gsi3sk".into(), s(&id));
    }
    Ok(item)
}

pub fn contact_item(keys: &TenantKeys, c: &Contact) -> Result<Item, StoreError> {
    let id = c.id.to_string();
    let mut item = to_item(c)?;
    item.insert("pk".into(), s(contact_pk(keys, &id)));
    item.insert("sk".into(), s(CONTACT_SK));
    item.insert("entity".into(), s("contact"));
    item.insert("gsi1pk".into(), s(contacts_index(keys)));
    let sort = name_sort(&format!("{} {}", c.last_name, c.first_name), &id);
    item.insert("gsi1sk".into(), s(&sort));
    item.insert("gsi2pk".into(), s(contacts_of_account_index(keys, &c.account_id)));
    item.insert("gsi2sk".into(), s(sort));
    Ok(item)
}

/// What an account's overview shows of a contact, kept in the account's collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactSummary {
    pub contact_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub roles: Vec<keel_core::contact::ContactRole>,
    pub primary: bool,
}

impl From<&Contact> for ContactSummary {
    fn from(c: &Contact) -> Self {
        ContactSummary {
            contact_id: c.id.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            email: c.email.as_ref().map(|e| e.to_string()),
            job_title: c.job_title.clone(),
            roles: c.roles.clone(),
            primary: c.primary,
        }
    }
}

pub fn contact_summary_item(keys: &TenantKeys, c: &Contact) -> Result<Item, StoreError> {
    let mut item = to_item(&ContactSummary::from(c))?;
    item.insert("pk".into(), s(account_pk(keys, &c.account_id)));
    item.insert("sk".into(), s(format!("{CONTACT_SUMMARY}{}", c.id)));
    item.insert("entity".into(), s("contact_summary"));
    Ok(item)
}

/// What an account's overview shows of an opportunity, kept in the account's collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpportunitySummary {
    pub opportunity_id: String,
    pub name: String,
    pub stage: String,
    pub status: keel_core::opportunity::OpportunityStatus,
    pub amount: Option<keel_core::Money>,
    #[schema(value_type = String)]
    pub close_date: chrono::NaiveDate,
    pub owner_id: String,
}

impl From<&Opportunity> for OpportunitySummary {
    fn from(o: &Opportunity) -> Self {
        OpportunitySummary {
            opportunity_id: o.id.to_string(),
            name: o.name.clone(),
            stage: o.stage.clone(),
            status: o.status,
            amount: o.amount.clone(),
            close_date: o.close_date,
            owner_id: o.owner_id.clone(),
        }
    }
}

/// The tenant's deals, newest first (archived ones apart, so lists leave them out for free).
pub fn deals_index(keys: &TenantKeys, archived: bool) -> String {
    keys.key(if archived { "DEALS#ARCHIVED" } else { "DEALS" })
}

/// A board column: the deals in one stage of one pipeline, by close date.
pub fn deals_by_stage_index(keys: &TenantKeys, pipeline: &str, stage: &str) -> String {
    keys.key(&format!("DEALS#STAGE#{pipeline}#{stage}"))
}

pub fn opportunity_item(keys: &TenantKeys, o: &Opportunity) -> Result<Item, StoreError> {
    let id = o.id.to_string();
    let mut item = to_item(o)?;
    item.insert("pk".into(), s(deal_pk(keys, &id)));
    item.insert("sk".into(), s(DEAL_SK));
    item.insert("entity".into(), s("deal"));
    item.insert("gsi1pk".into(), s(deals_index(keys, o.is_archived())));
    item.insert("gsi1sk".into(), s(&id));
    if !o.is_archived() {
        item.insert("gsi2pk".into(), s(deals_by_stage_index(keys, &o.pipeline_id, &o.stage)));
        item.insert("gsi2sk".into(), s(format!("{}#{id}", o.close_date)));
    }
    Ok(item)
}

pub fn opportunity_summary_item(keys: &TenantKeys, o: &Opportunity) -> Result<Item, StoreError> {
    let mut item = to_item(&OpportunitySummary::from(o))?;
    item.insert("pk".into(), s(account_pk(keys, &o.account_id)));
    item.insert("sk".into(), s(format!("{DEAL_SUMMARY}{}", o.id)));
    item.insert("entity".into(), s("deal_summary"));
    Ok(item)
}

pub fn activities_index(keys: &TenantKeys) -> String {
    keys.key("ACTIVITIES")
}

pub fn activities_of_owner_index(keys: &TenantKeys, owner: &str) -> String {
    keys.key(&format!("ACTIVITIES#OWNER#{owner}"))
}

/// When it happened, then its id: lists and timelines sort by the time an activity happened, not
/// the time it was logged (a call logged an hour later sits where it happened). Fixed width, so
/// sort keys order as times do.
pub fn occurred_sort(a: &Activity) -> String {
    format!("{}#{}", a.occurred_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"), a.id)
}

/// An activity's entry in a timeline's collection.
pub fn timeline_sk(a: &Activity) -> String {
    format!("{TIMELINE}{}", occurred_sort(a))
}

/// The record must exist when the write commits: a condition in the same transaction, no read.
pub fn record_exists(table: &str, keys: &TenantKeys, kind: RecordKind, id: &str) -> crate::TransactWriteItem {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .key("pk", s(record_pk(keys, kind, id)))
        .key("sk", s(record_sk(kind)))
        .condition_expression("attribute_exists(pk)")
        .build()
        .expect("table, key and condition are set");
    crate::TransactWriteItem::builder().condition_check(check).build()
}

pub fn activity_item(keys: &TenantKeys, a: &Activity) -> Result<Item, StoreError> {
    let id = a.id.to_string();
    let mut item = to_item(a)?;
    item.insert("pk".into(), s(activity_pk(keys, &id)));
    item.insert("sk".into(), s(ACTIVITY_SK));
    item.insert("entity".into(), s("activity"));
    item.insert("gsi1pk".into(), s(activities_index(keys)));
    item.insert("gsi1sk".into(), s(occurred_sort(a)));
    item.insert("gsi2pk".into(), s(activities_of_owner_index(keys, &a.owner_id)));
    item.insert("gsi2sk".into(), s(occurred_sort(a)));
    // Related records as `kind#id` strings, so a list can filter on one with `contains`.
    let related: Vec<_> = a.timelines().map(|r| s(format!("{}#{}", r.kind.as_str(), r.id))).collect();
    item.insert("related_keys".into(), crate::AttributeValue::L(related));
    Ok(item)
}

/// The activity copied into the collection of every record whose timeline shows it: a timeline
/// page is one `Query` however many records an activity touches (the fan-out is bounded by
/// `MAX_RELATED` and the two records a conversion adds).
pub fn timeline_items(keys: &TenantKeys, a: &Activity) -> Result<Vec<Item>, StoreError> {
    a.timelines().map(|r| timeline_item(keys, a, r.kind, &r.id)).collect()
}

pub fn timeline_item(keys: &TenantKeys, a: &Activity, kind: RecordKind, id: &str) -> Result<Item, StoreError> {
    let mut item = to_item(a)?;
    item.insert("pk".into(), s(record_pk(keys, kind, id)));
    item.insert("sk".into(), s(timeline_sk(a)));
    item.insert("entity".into(), s("timeline_entry"));
    Ok(item)
}

/// The keys of every timeline entry of `a` (to move or remove them with it).
pub fn timeline_keys(keys: &TenantKeys, a: &Activity) -> Vec<(String, String)> {
    a.timelines().map(|r| (record_pk(keys, r.kind, &r.id), timeline_sk(a))).collect()
}

/// The `entity` attribute of an item read from a collection.
pub fn entity_of(item: &Item) -> &str {
    item.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or("")
}

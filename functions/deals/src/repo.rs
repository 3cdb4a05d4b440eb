//! The deals context's reads (writes go through `UnitOfWork` in each handler).

use keel_core::opportunity::Opportunity;
use keel_core::pipeline::{Pipeline, DEFAULT_PIPELINE};
use keel_store::db::from_item;
use keel_store::revenue::{self, PIPELINE_SK};
use keel_store::{crm, Db, Item, StoreError, TenantKeys};

use keel_store::index_page::{every, TABLE};
pub use keel_store::index_page::{page, IndexPage};

/// Items per page when a collection is followed to its end: no limit below DynamoDB's 1 MB a
/// page, so a rollup (a few hundred items at most) is one Query.
const PAGE: i32 = 100_000;

pub async fn deal(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Opportunity>, StoreError> {
    db.get_as(&crm::deal_pk(keys, id), crm::DEAL_SK).await
}

/// The account a contact belongs to, if the contact exists.
pub async fn contact_account(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<String>, StoreError> {
    let contact: Option<keel_core::contact::Contact> = db.get_as(&crm::contact_pk(keys, id), crm::CONTACT_SK).await?;
    Ok(contact.map(|c| c.account_id))
}

/// A pipeline by id; the default one is the product's stages until the company saves its own.
pub async fn pipeline(db: &Db, keys: &TenantKeys, id: &str) -> Result<Option<Pipeline>, StoreError> {
    match db.get_as::<Pipeline>(&revenue::pipeline_pk(keys, id), PIPELINE_SK).await? {
        Some(p) => Ok(Some(p)),
        None if id == DEFAULT_PIPELINE => Ok(Some(Pipeline::default_for_company())),
        None => Ok(None),
    }
}

/// Every item of `pk` whose sort key starts with `prefix` (or, with `until`, lies in `[prefix,
/// until]`), following pages (rollups: bounded by owners, stages or days, never by deals).
pub async fn collection(db: &Db, pk: String, prefix: &str, until: Option<&str>) -> Result<Vec<Item>, StoreError> {
    let q = IndexPage { range: until.map(|end| (prefix, end)), ..IndexPage::collection(TABLE, pk, Some(prefix), PAGE) };
    every(db, q).await
}

/// The deal and the stages it has left (oldest first): one Query of its collection (`DEAL`,
/// then `STAGE#<ulid>`; its timeline `ACT#…` sorts before and is not read).
pub async fn deal_with_visits(
    db: &Db,
    keys: &TenantKeys,
    id: &str,
) -> Result<Option<(Opportunity, Vec<keel_core::deal::StageVisit>)>, StoreError> {
    let items = collection(db, crm::deal_pk(keys, id), crm::DEAL_SK, Some("STAGE#~")).await?;
    let mut deal = None;
    let mut visits = Vec::new();
    for item in items {
        match crm::entity_of(&item) {
            "deal" => deal = Some(from_item::<Opportunity>(item)?),
            "stage_visit" => visits.push(from_item(item)?),
            _ => {}
        }
    }
    Ok(deal.map(|d| (d, visits)))
}

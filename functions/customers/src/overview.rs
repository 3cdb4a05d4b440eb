//! `GET …/customers/{account_id}/overview`: the account with its contacts, open opportunities and
//! latest activities, from **one** `Query` of the account's item collection read newest first
//! (profile, opportunity summaries, contact summaries, then the timeline), stopping after the
//! latest activities however long the account's history is.

use axum::extract::State;
use axum::Json;
use keel_core::account::Account;
use keel_core::activity::Activity;
use keel_core::opportunity::OpportunityStatus;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::crm::{self, ContactSummary, OpportunitySummary};
use keel_store::db::{self, s};
use keel_store::{Db, Item, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::AccountView;
use keel_http::path::record_id;

/// Activities the overview shows.
pub const LATEST_ACTIVITIES: usize = 10;
/// Items one page of the collection reads: the profile, up to this many related records, and the
/// latest activities. An account with more contacts and opportunities than fit takes more pages;
/// the lists of contacts and deals page through all of them.
pub const PAGE_ITEMS: i32 = 90;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountOverview {
    pub account: AccountView,
    /// Primary contact first, then by name.
    pub contacts: Vec<ContactSummary>,
    pub open_opportunities: Vec<OpportunitySummary>,
    /// Newest first.
    pub latest_activities: Vec<Activity>,
}

/// Reads the collection newest first until the latest activities are in (1 Query for any account
/// with fewer than ~80 contacts and opportunities).
async fn collection(db: &Db, keys: &TenantKeys, id: &str) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = db
            .client
            .query()
            .table_name(&db.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(crm::account_pk(keys, id)))
            .scan_index_forward(false)
            .limit(PAGE_ITEMS)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        items.extend(out.items.unwrap_or_default());
        let activities = items.iter().filter(|i| crm::entity_of(i) == "timeline_entry").count();
        match out.last_evaluated_key {
            Some(last) if activities < LATEST_ACTIVITIES => start = Some(last),
            _ => return Ok(items),
        }
    }
}

/// The account with its contacts (roles, primary), open opportunities and latest activities.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/customers/{account_id}/overview",
    tag = "customers",
    params(("company_id" = Id, Path), ("account_id" = Id, Path)),
    responses((status = 200, description = "The account overview", body = AccountOverview)),
    security(("bearer" = []))
)]
pub async fn account_overview(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Json<AccountOverview>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&raw)?;
    let mut account = None;
    let mut contacts = Vec::new();
    let mut open = Vec::new();
    let mut activities = Vec::new();
    for item in collection(&app.db, keys, id).await? {
        match crm::entity_of(&item) {
            "account" => account = Some(db::from_item::<Account>(item)?),
            "contact_summary" => contacts.push(db::from_item::<ContactSummary>(item)?),
            "deal_summary" => {
                let o: OpportunitySummary = db::from_item(item)?;
                if o.status == OpportunityStatus::Open {
                    open.push(o);
                }
            }
            "timeline_entry" if activities.len() < LATEST_ACTIVITIES => {
                activities.push(db::from_item::<Activity>(item)?)
            }
            _ => {}
        }
    }
    let account = account.ok_or(ApiError::NotFound)?;
    contacts.sort_by(|a, b| {
        (!a.primary, a.last_name.to_lowercase(), a.first_name.to_lowercase()).cmp(&(
            !b.primary,
            b.last_name.to_lowercase(),
            b.first_name.to_lowercase(),
        ))
    });
    open.sort_by_key(|o| o.close_date);
    Ok(Json(AccountOverview {
        account: AccountView::of(account),
        contacts,
        open_opportunities: open,
        latest_activities: activities,
    }))
}

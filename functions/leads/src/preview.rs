//! `GET …/leads/{lead_id}/conversion-preview`: what a conversion would do, and existing accounts
//! the lead may belong to (same email domain, or a name that starts the same once legal forms are
//! dropped), so people attach instead of creating a second "Acme".

use axum::extract::State;
use axum::Json;
use keel_core::account::{company_domain, domain_of_website, name_key, Lifecycle};
use keel_core::qualification::{conversion_eligibility, Condition};
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, TenantContext};
use keel_store::crm;
use keel_store::db::s;
use keel_store::{Db, Item, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::policy;
use crate::qualification::{latest_assessment, lead_with_history};
use keel_http::path::record_id;

const SUGGESTIONS: i32 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountSuggestion {
    pub account_id: String,
    pub name: String,
    pub lifecycle: Lifecycle,
    pub domain: Option<String>,
    pub owner_id: String,
    pub matched_by: SuggestionMatch,
}

/// Why an account is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionMatch {
    /// The lead's email domain (or website) is the account's.
    Domain,
    /// The names match once legal forms are dropped.
    Name,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConversionPreview {
    pub lead_id: String,
    pub eligible: bool,
    pub conversion_eligibility: Vec<Condition>,
    /// The name a new account would get (the lead's company, else the person's name).
    pub new_account_name: String,
    /// The email domain a new account would get, unless it is a public mail provider's.
    pub new_account_domain: Option<String>,
    /// Existing accounts to attach to instead, domain matches first.
    pub suggestions: Vec<AccountSuggestion>,
}

fn suggestion(item: Item, matched_by: SuggestionMatch) -> Option<AccountSuggestion> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    Some(AccountSuggestion {
        account_id: text("id")?,
        name: text("name")?,
        lifecycle: Lifecycle::parse(&text("lifecycle")?)?,
        domain: text("domain"),
        owner_id: text("owner_id").unwrap_or_default(),
        matched_by,
    })
}

async fn by_domain(db: &Db, keys: &TenantKeys, domain: Option<&str>) -> Result<Vec<Item>, StoreError> {
    let Some(domain) = domain else { return Ok(vec![]) };
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .index_name("gsi3")
        .key_condition_expression("gsi3pk = :pk")
        .expression_attribute_values(":pk", s(crm::accounts_by_domain_index(keys, domain)))
        .limit(SUGGESTIONS)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.items.unwrap_or_default()),
        // Right after a deploy adds the index, DynamoDB refuses reads until its backfill ends:
        // the preview goes on with name matches rather than failing the Convert dialog.
        Err(e) if e.as_service_error().and_then(|s| s.meta().message()).is_some_and(|m| m.contains("backfilling")) => {
            tracing::warn!("accounts by domain: gsi3 is still backfilling");
            Ok(vec![])
        }
        Err(e) => Err(StoreError::from_sdk(e)),
    }
}

async fn by_name(db: &Db, keys: &TenantKeys, key: &str) -> Result<Vec<Item>, StoreError> {
    if key.is_empty() {
        return Ok(vec![]);
    }
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :name)")
        .expression_attribute_values(":pk", s(crm::accounts_index(keys)))
        .expression_attribute_values(":name", s(key))
        .limit(SUGGESTIONS)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out.items.unwrap_or_default())
}

/// What converting the lead would create, whether it may be converted now, and existing accounts
/// to attach it to instead.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/conversion-preview",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses((status = 200, description = "The preview", body = ConversionPreview)),
    security(("bearer" = []))
)]
pub async fn conversion_preview(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Json<ConversionPreview>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&raw)?;
    let (lead, history) = lead_with_history(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    let name = lead.company_name.clone().unwrap_or_else(|| format!("{} {}", lead.first_name, lead.last_name));
    let domain = lead
        .email
        .as_ref()
        .and_then(|e| company_domain(e.as_str()))
        .or_else(|| lead.website.as_deref().and_then(domain_of_website));
    // Only a company name says which organisation a person is with; their own name does not.
    let key = lead.company_name.as_deref().map(name_key).unwrap_or_default();
    let (policy, domain_hits, name_hits) = tokio::try_join!(
        policy::read(&app.db, keys),
        by_domain(&app.db, keys, domain.as_deref()),
        by_name(&app.db, keys, &key)
    )?;
    let mut suggestions: Vec<AccountSuggestion> = Vec::new();
    for s in domain_hits
        .into_iter()
        .filter_map(|i| suggestion(i, SuggestionMatch::Domain))
        .chain(name_hits.into_iter().filter_map(|i| suggestion(i, SuggestionMatch::Name)))
    {
        if !suggestions.iter().any(|x| x.account_id == s.account_id) && s.lifecycle != Lifecycle::Inactive {
            suggestions.push(s);
        }
    }
    let conditions = conversion_eligibility(&lead, latest_assessment(&history), &policy);
    Ok(Json(ConversionPreview {
        lead_id: id.to_string(),
        eligible: conditions.iter().all(|c| c.met),
        conversion_eligibility: conditions,
        new_account_name: name,
        new_account_domain: domain,
        suggestions,
    }))
}

//! `POST …/leads/{lead_id}/convert`: account-first conversion in one `TransactWriteItems` — the
//! account (new, or a version-guarded update of the chosen one), the contact and its summary in
//! the account, the opportunity and its summary, the initial activity with its timeline entries,
//! the lead marked converted with pointers, audit records and the events. Only a qualified lead
//! converts; a repeated or concurrent call answers the ids of the one conversion that happened.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::account::Account;
use keel_core::contact::Contact;
use keel_core::conversion::{ConversionIds, ConversionPlan, ConvertRequest};
use keel_core::pipeline::Pipeline;
use keel_core::qualification::{conversion_eligibility, Condition};
use keel_core::{FieldErrors, Lead, LeadStatus};
use keel_events::{
    AccountChanged, Actor, ContactChanged, DealChanged, Envelope, LeadConverted, LeadCreated, LeadUpdated,
};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::crm;
use keel_store::{Db, Refusal, StoreError, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::capture::actor;
use crate::qualification::{latest_assessment, lead_with_history};
use crate::{policy, repo};
use keel_http::path::record_id;
use keel_store::leads::to_lead_item;

/// Attempts when another write to the chosen account lands between reading and converting.
const ATTEMPTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversionResult {
    pub lead_id: String,
    pub account_id: String,
    /// Whether this conversion created the account (false: it joined an existing one).
    pub account_created: bool,
    pub contact_id: String,
    pub opportunity_id: String,
    pub activity_id: String,
}

impl ConversionResult {
    fn of(lead: &Lead) -> Option<Self> {
        lead.conversion.as_ref().map(|c| ConversionResult {
            lead_id: lead.id.to_string(),
            account_id: c.account_id.clone(),
            account_created: c.account_created,
            contact_id: c.contact_id.clone(),
            opportunity_id: c.opportunity_id.clone(),
            activity_id: c.activity_id.clone(),
        })
    }
}

/// What one conversion writes, and on whose behalf.
pub struct ConversionWrite<'p> {
    pub keys: &'p TenantKeys,
    pub tenant_id: &'p str,
    pub by: Actor,
    /// The lead as read (its version guards the write).
    pub current: &'p Lead,
    /// The account joined, as read (its version guards the write); None: a new account.
    pub existing: Option<&'p Account>,
    pub plan: &'p ConversionPlan,
    pub now: DateTime<Utc>,
}

/// The company's default pipeline (the product's stages until an administrator saves it), whose
/// stages the converted opportunity takes. 1 GetItem.
pub async fn company_pipeline(db: &Db, keys: &TenantKeys) -> Result<Pipeline, StoreError> {
    let pk = keel_store::revenue::pipeline_pk(keys, keel_core::pipeline::DEFAULT_PIPELINE);
    Ok(db.get_as(&pk, keel_store::revenue::PIPELINE_SK).await?.unwrap_or_else(Pipeline::default_for_company))
}

/// The whole conversion as one unit of work (the consumer commits the same items with its claim).
/// `meta_audit(action, entity type, entity id, changes)` makes each audit record.
pub fn conversion_unit<'a>(
    db: &'a Db,
    w: ConversionWrite<'_>,
    meta_audit: impl Fn(&str, &str, &str, Vec<keel_store::audit::FieldChange>) -> AuditRecord,
) -> Result<UnitOfWork<'a>, StoreError> {
    let ConversionWrite { keys, tenant_id, by, current, existing, plan, now } = w;
    let lead_id = current.id.to_string();
    let mut unit = UnitOfWork::new(db);
    unit.replace(to_lead_item(keys, &plan.lead)?, current.version);
    match existing {
        None => unit.create(crm::account_item(keys, &plan.account)?),
        Some(before) => unit.replace(crm::account_item(keys, &plan.account)?, before.version),
    };
    unit.create(crm::contact_item(keys, &plan.contact)?);
    unit.create(crm::contact_summary_item(keys, &plan.contact)?);
    unit.create(crm::opportunity_item(keys, &plan.opportunity)?);
    unit.create(crm::opportunity_summary_item(keys, &plan.opportunity)?);
    // The opportunity takes its place in its stage like any deal (a stage an administrator has
    // just removed refuses it).
    let table = db.table.clone();
    unit.include_guarded(
        keel_store::revenue::enter_slot(&table, keys, &plan.opportunity.pipeline_id, &plan.opportunity.stage),
        "opportunity.stage",
        "the stage was removed from the pipeline",
    );
    unit.create(crm::activity_item(keys, &plan.activity)?);
    for entry in crm::timeline_items(keys, &plan.activity)? {
        unit.create(entry);
    }

    let lead_changes = AuditRecord::diff(Some(&current.as_json()), &plan.lead.as_json(), &Lead::RECORDED_FIELDS);
    let changed: Vec<String> = lead_changes.iter().map(|c| c.field.clone()).collect();
    let updated = LeadUpdated {
        lead_id: lead_id.clone(),
        version: plan.lead.version,
        changed,
        before: LeadCreated::from(current),
        after: LeadCreated::from(&plan.lead),
    };
    unit.event(&Envelope::new(tenant_id, by.clone(), now, &updated))?;
    let converted = LeadConverted {
        lead_id: lead_id.clone(),
        account_id: plan.account.id.to_string(),
        account_created: plan.account_is_new,
        contact_id: plan.contact.id.to_string(),
        opportunity_id: plan.opportunity.id.to_string(),
        activity_id: plan.activity.id.to_string(),
        owner_id: plan.lead.owner_id.clone(),
    };
    unit.event(&Envelope::new(tenant_id, by.clone(), now, &converted))?;
    let deal = DealChanged::of("created", None, &plan.opportunity, vec![]);
    unit.event(&Envelope::new(tenant_id, by.clone(), now, &deal))?;
    let account_event = match existing {
        None => AccountChanged::created(&plan.account),
        Some(before) => {
            let mut changed = vec!["contact_count".to_string(), "open_opportunities".into(), "last_activity_at".into()];
            if before.primary_contact_id != plan.account.primary_contact_id {
                changed.push("primary_contact_id".into());
            }
            AccountChanged::updated(before, &plan.account, changed)
        }
    };
    unit.event(&Envelope::new(tenant_id, by.clone(), now, &account_event))?;
    let contact_event = ContactChanged {
        contact_id: plan.contact.id.to_string(),
        account_id: plan.account.id.to_string(),
        change: "created".into(),
        previous_account_id: None,
        primary: plan.contact.primary,
        changed: vec![],
    };
    unit.event(&Envelope::new(tenant_id, by, now, &contact_event))?;

    unit.audit(keys, &meta_audit("lead.convert", "lead", &lead_id, lead_changes))?;
    let account_changes = match existing {
        None => AuditRecord::diff(None, &plan.account.as_json(), &Account::RECORDED_FIELDS),
        Some(before) => AuditRecord::diff(Some(&before.as_json()), &plan.account.as_json(), &Account::RECORDED_FIELDS),
    };
    let account_action = if existing.is_none() { "account.create" } else { "account.update" };
    unit.audit(keys, &meta_audit(account_action, "account", &plan.account.id.to_string(), account_changes))?;
    let contact_changes = AuditRecord::diff(None, &plan.contact.as_json(), &Contact::RECORDED_FIELDS);
    unit.audit(keys, &meta_audit("contact.create", "contact", &plan.contact.id.to_string(), contact_changes))?;
    Ok(unit)
}

/// The 409 for a lead that may not convert: each unmet condition, named.
pub(crate) fn not_eligible(lead: &Lead, conditions: Vec<Condition>) -> ApiError {
    let mut errors = FieldErrors::default();
    for c in conditions.into_iter().filter(|c| !c.met) {
        errors.add(&c.condition, c.why);
    }
    let detail = if lead.status == LeadStatus::Qualified {
        "The lead no longer meets your company's qualification policy: assess it again. Nothing was written."
            .to_string()
    } else {
        format!(
            "Only a qualified lead converts, and this one is {}. Qualify it first; nothing was written.",
            lead.status.as_str()
        )
    };
    ApiError::NotEligible { detail, errors }
}

fn answer(status: StatusCode, company_id: &str, result: ConversionResult) -> Response {
    let location = format!("/api/companies/{company_id}/customers/{}", result.account_id);
    let mut response = (status, Json(result)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Convert a qualified lead, account first: an account (or the existing `account_id`), a contact
/// of it, an opportunity of both and the activity recording it, in one transaction. Anything but a
/// qualified lead is a 409 listing the unmet conditions, with nothing written. Calling again (or
/// ten times at once) answers the ids of the one conversion that happened, with 200.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/leads/{lead_id}/convert",
    tag = "qualification",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    request_body = ConvertRequest,
    responses(
        (status = 201, description = "Converted", body = ConversionResult,
            headers(("Location" = String, description = "The account"))),
        (status = 200, description = "Converted before: the same ids", body = ConversionResult),
        (status = 403, description = "Role may not convert this lead, or not assign to others"),
        (status = 409, description = "Not qualified (`errors` lists the unmet conditions), or the lead changed meanwhile"),
        (status = 422, description = "The account does not exist or is inactive, or an owner is not an active user"),
    ),
    security(("bearer" = []))
)]
pub async fn convert_lead(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<ConvertRequest>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let request = body.value;
    for _ in 0..ATTEMPTS {
        // The lead with its assessments (1 Query) and the policy (1 GetItem) decide eligibility;
        // the company's stages (1 GetItem) and the account joined, when one is named, are read beside them.
        let reads = async {
            tokio::try_join!(
                lead_with_history(&app.db, keys, id),
                policy::read(&app.db, keys),
                company_pipeline(&app.db, keys)
            )
            .map_err(ApiError::from)
        };
        let ((found, policy, pipeline), account) = match request.account_id.as_deref() {
            Some(account_id) => {
                let (read, account) = tokio::join!(reads, keel_http::accounts::joinable(&app.db, keys, account_id));
                (read?, Some(account))
            }
            None => (reads.await?, None),
        };
        let (lead, history) = found.ok_or(ApiError::NotFound)?;
        ctx.require_edit(&lead.owner_id, &lead.owner_id)?;
        if let Some(done) = ConversionResult::of(&lead) {
            return Ok(answer(StatusCode::OK, &company_id, done));
        }
        let conditions = conversion_eligibility(&lead, latest_assessment(&history), &policy);
        if conditions.iter().any(|c| !c.met) {
            return Err(not_eligible(&lead, conditions));
        }
        let account = account.transpose()?;
        let now = Utc::now();
        let plan = request
            .plan(&lead, account.as_ref(), &ctx.user_id, ConversionIds::fresh(), now, &pipeline)
            .map_err(ApiError::Validation)?;
        check_owners(&app, &ctx, keys, &lead, &plan).await?;
        let audit = |action: &str, kind: &str, entity: &str, changes| meta.audit(&ctx, action, kind, entity, changes);
        let write = ConversionWrite {
            keys,
            tenant_id: &ctx.tenant_id,
            by: actor(&ctx),
            current: &lead,
            existing: account.as_ref(),
            plan: &plan,
            now,
        };
        let unit = conversion_unit(&app.db, write, audit)?;
        match unit.commit().await {
            Ok(()) => {
                let result = ConversionResult::of(&plan.lead).expect("the plan converts");
                return Ok(answer(StatusCode::CREATED, &company_id, result));
            }
            // Someone else converted it, or changed the lead or the account: look again.
            Err(WriteError::Refused(Refusal::Stale)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Stale { current_version: repo::get(&app.db, keys, id).await?.map(|l| l.version) })
}

/// Every owner the conversion names (the lead's owner by default) must be an active user of the
/// company, and only managers and administrators give records to someone other than the lead's
/// owner. A refusal names the part whose owner it is.
async fn check_owners(
    app: &AppState,
    ctx: &TenantContext,
    keys: &TenantKeys,
    lead: &Lead,
    plan: &ConversionPlan,
) -> Result<(), ApiError> {
    let owners = [
        (plan.account_is_new).then_some(("account.owner_id", plan.account.owner_id.as_str())),
        Some(("contact.owner_id", plan.contact.owner_id.as_str())),
        Some(("opportunity.owner_id", plan.opportunity.owner_id.as_str())),
    ];
    let mut active: BTreeSet<&str> = BTreeSet::from([ctx.user_id.as_str()]);
    for (field, owner) in owners.into_iter().flatten() {
        if owner != lead.owner_id {
            ctx.require_edit(&lead.owner_id, owner)?;
        }
        if !active.contains(owner) {
            keel_http::owners::require_active(&app.db, keys, owner, field).await?;
            active.insert(owner);
        }
    }
    Ok(())
}

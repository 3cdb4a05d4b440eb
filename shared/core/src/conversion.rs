//! Account-first conversion: a qualified lead becomes an account (new, or one that exists), a
//! contact of it, an opportunity of both, and the activity that records it. Never directly: the
//! plan below is only made for a lead whose status is `qualified`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::account::{company_domain, Account, AccountDraft, AccountType, NewAccount};
use crate::activity::{Activity, ActivityType, RecordKind, Related};
use crate::contact::{Contact, NewContact};
use crate::field_error::{line, FieldErrors};
use crate::lead::{ConversionPointers, Lead, LeadStatus};
use crate::money::Money;
use crate::opportunity::{Opportunity, OpportunityContact, OpportunityStatus, OpportunityType, CONVERSION_STAGE};
use crate::pipeline::Pipeline;

/// How far ahead a converted opportunity is expected to close unless told.
pub const DEFAULT_CLOSE_DAYS: i64 = 90;

/// The body of `POST …/leads/{id}/convert`. Everything is optional: the lead supplies the rest.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertRequest {
    /// Attach to this existing account instead of creating one.
    pub account_id: Option<String>,
    /// The new account's fields (defaults from the lead: its company name, website, email domain).
    pub account: Option<NewAccount>,
    /// The contact's fields (defaults from the lead). `account_id` is not taken here.
    pub contact: Option<NewContact>,
    pub opportunity: Option<ConvertOpportunity>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertOpportunity {
    pub name: Option<String>,
    pub amount: Option<Money>,
    /// `YYYY-MM-DD`; defaults to 90 days from today.
    #[schema(value_type = Option<String>, example = "2027-03-31")]
    pub close_date: Option<String>,
    /// An open stage of the pipeline; defaults to `qualification`.
    pub stage: Option<String>,
    pub owner_id: Option<String>,
}

/// New ids for what a conversion creates (the caller's, so a plan is deterministic).
#[derive(Debug, Clone, Copy)]
pub struct ConversionIds {
    pub account: Ulid,
    pub contact: Ulid,
    pub opportunity: Ulid,
    pub activity: Ulid,
}

impl ConversionIds {
    /// Fresh ids for one conversion attempt.
    pub fn fresh() -> Self {
        ConversionIds { account: Ulid::new(), contact: Ulid::new(), opportunity: Ulid::new(), activity: Ulid::new() }
    }
}

/// Everything one conversion writes, decided before anything is written.
#[derive(Debug, Clone)]
pub struct ConversionPlan {
    /// The account as it will be (new, or the existing one with its counters moved).
    pub account: Account,
    pub account_is_new: bool,
    pub contact: Contact,
    pub opportunity: Opportunity,
    pub activity: Activity,
    /// The lead marked converted, with pointers (all its data kept).
    pub lead: Lead,
    /// The contact replaces no one as primary: it becomes primary only when the account had none.
    pub contact_is_primary: bool,
}

fn nest(e: &mut FieldErrors, prefix: &str, inner: FieldErrors) {
    for x in inner.0 {
        e.add(&format!("{prefix}.{}", x.field), x.message);
    }
}

impl ConvertRequest {
    /// The plan for converting `lead`, into `existing` when the request names an account.
    /// Owners named here must be checked as active users by the caller.
    pub fn plan(
        &self,
        lead: &Lead,
        existing: Option<&Account>,
        actor: &str,
        ids: ConversionIds,
        now: DateTime<Utc>,
        pipeline: &Pipeline,
    ) -> Result<ConversionPlan, FieldErrors> {
        debug_assert_eq!(lead.status, LeadStatus::Qualified, "only qualified leads are planned");
        let mut e = FieldErrors::default();
        if existing.is_some() && self.account.is_some() {
            e.add("account", "leave it out when attaching to an existing account (account_id)");
        }
        let lead_id = lead.id.to_string();
        let lead_name = format!("{} {}", lead.first_name, lead.last_name);

        // The account: the existing one, or one made from the lead and the overrides.
        let (mut account, account_is_new) = match existing {
            Some(a) => (a.clone(), false),
            None => {
                let given = self.account.clone().unwrap_or_default();
                let defaults = NewAccount {
                    name: given.name.clone().or_else(|| lead.company_name.clone()).or_else(|| Some(lead_name.clone())),
                    account_type: given.account_type.or(Some(AccountType::Prospect)),
                    website: given.website.clone().or_else(|| lead.website.clone()),
                    domain: given
                        .domain
                        .clone()
                        .or_else(|| lead.email.as_ref().and_then(|m| company_domain(m.as_str()))),
                    owner_id: given.owner_id.clone().or_else(|| Some(lead.owner_id.clone())),
                    ..given
                };
                let draft = defaults.validate().unwrap_or_else(|inner| {
                    nest(&mut e, "account", inner);
                    empty_account()
                });
                let mut a = Account::create(draft, ids.account, actor, now);
                a.source_lead_id = Some(lead_id.clone());
                (a, true)
            }
        };

        // The contact, from the lead unless overridden.
        let given = self.contact.clone().unwrap_or_default();
        if given.account_id.is_some() {
            e.add("contact.account_id", "the contact joins the conversion's account: set `account_id` at the top");
        }
        let contact_is_primary = account.primary_contact_id.is_none();
        let contact_input = NewContact {
            account_id: Some(account.id.to_string()),
            first_name: given.first_name.clone().or_else(|| Some(lead.first_name.clone())),
            last_name: given.last_name.clone().or_else(|| Some(lead.last_name.clone())),
            email: given.email.clone().or_else(|| lead.email.as_ref().map(|m| m.to_string())),
            phone: given.phone.clone().or_else(|| lead.phone.as_ref().map(|p| p.as_str().to_string())),
            job_title: given.job_title.clone().or_else(|| lead.job_title.clone()),
            roles: given.roles.clone(),
            primary: contact_is_primary,
            owner_id: given.owner_id.clone().or_else(|| Some(lead.owner_id.clone())),
        };
        let contact = contact_input.validate().map(|d| Contact::create(d, ids.contact, actor, now));
        let mut contact = contact.unwrap_or_else(|inner| {
            nest(&mut e, "contact", inner);
            Contact::create(empty_contact(), ids.contact, actor, now)
        });
        contact.source_lead_id = Some(lead_id.clone());

        // The opportunity.
        let o = self.opportunity.clone().unwrap_or_default();
        let name = line(&mut e, "opportunity.name", o.name.as_deref(), false, 200)
            .unwrap_or_else(|| format!("{} – new business", account.name));
        if let Some(amount) = &o.amount {
            amount.validate(&mut e, "opportunity.amount");
        }
        // The company's default pipeline: `qualification` unless it has no such open stage.
        let open = |key: &str| pipeline.stage(key).filter(|s| s.status == OpportunityStatus::Open);
        let default_stage = open(CONVERSION_STAGE).unwrap_or_else(|| pipeline.first_open());
        let stage = match o.stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => default_stage,
            Some(key) => open(key).unwrap_or_else(|| {
                let keys: Vec<&str> = pipeline
                    .stages
                    .iter()
                    .filter(|s| s.status == OpportunityStatus::Open)
                    .map(|s| s.key.as_str())
                    .collect();
                e.add("opportunity.stage", format!("must be an open stage: {}", keys.join(", ")));
                default_stage
            }),
        };
        let today = now.date_naive();
        let close_date = match o.close_date.as_deref().map(str::trim) {
            None | Some("") => today + Duration::days(DEFAULT_CLOSE_DAYS),
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if d >= today - Duration::days(366) && d <= today + Duration::days(10 * 366) => d,
                Ok(_) => {
                    e.add("opportunity.close_date", "must be within a year before and ten years after today");
                    today
                }
                Err(_) => {
                    e.add("opportunity.close_date", "must be a date like 2027-03-31");
                    today
                }
            },
        };
        let owner_id = line(&mut e, "opportunity.owner_id", o.owner_id.as_deref(), false, 64)
            .unwrap_or_else(|| lead.owner_id.clone());
        if !e.is_empty() {
            return Err(e);
        }
        let opportunity = Opportunity {
            id: ids.opportunity,
            name,
            account_id: account.id.to_string(),
            contacts: vec![OpportunityContact { contact_id: contact.id.to_string(), primary: true }],
            amount: o.amount.clone(),
            close_date,
            stage: stage.key.clone(),
            probability: stage.probability,
            forecast_category: stage.forecast_category,
            status: OpportunityStatus::Open,
            opportunity_type: if account_is_new || account.won_opportunities == 0 {
                OpportunityType::NewBusiness
            } else {
                OpportunityType::Upsell
            },
            owner_id,
            source_lead_id: Some(lead_id.clone()),
            next_step: None,
            lost_reason: None,
            pipeline_id: crate::pipeline::DEFAULT_PIPELINE.into(),
            stage_entered_at: Some(now),
            closed_at: None,
            archived_at: None,
            version: 1,
            created_by: actor.into(),
            created_at: now,
            updated_at: now,
        };
        let activity = Activity {
            id: ids.activity,
            activity_type: ActivityType::System,
            subject: format!("Lead {lead_name} converted"),
            body: Some(format!(
                "Converted from a lead ({} / {} / {}) into {} {}, with the opportunity {}.",
                lead.source,
                lead.campaign,
                lead.medium,
                if account_is_new { "the new account" } else { "the account" },
                account.name,
                opportunity.name
            )),
            related: vec![
                Related { kind: RecordKind::Lead, id: lead_id.clone() },
                Related { kind: RecordKind::Account, id: account.id.to_string() },
                Related { kind: RecordKind::Contact, id: contact.id.to_string() },
                Related { kind: RecordKind::Deal, id: opportunity.id.to_string() },
            ],
            occurred_at: now,
            duration_minutes: None,
            outcome: None,
            owner_id: lead.owner_id.clone(),
            created_by: actor.into(),
            created_at: now,
            version: 1,
            shown_on: vec![],
        };

        // The account's counters move with what joined it.
        if contact_is_primary {
            account.primary_contact_id = Some(contact.id.to_string());
        }
        account.contact_count += 1;
        account.open_opportunities += 1;
        account.last_activity_at = Some(now);
        if !account_is_new {
            account.version += 1;
            account.updated_at = now;
        }

        let mut converted = lead.clone();
        converted.status = LeadStatus::Converted;
        converted.conversion = Some(ConversionPointers {
            account_id: account.id.to_string(),
            account_created: account_is_new,
            contact_id: contact.id.to_string(),
            opportunity_id: opportunity.id.to_string(),
            activity_id: activity.id.to_string(),
            converted_by: actor.into(),
            converted_at: now,
        });
        converted.version += 1;
        converted.updated_at = now;
        Ok(ConversionPlan {
            account,
            account_is_new,
            contact,
            opportunity,
            activity,
            lead: converted,
            contact_is_primary,
        })
    }
}

fn empty_account() -> AccountDraft {
    AccountDraft {
        name: String::new(),
        account_type: AccountType::Prospect,
        industry: None,
        size: None,
        website: None,
        domain: None,
        address: None,
        owner_id: None,
    }
}

fn empty_contact() -> crate::contact::ContactDraft {
    crate::contact::ContactDraft {
        account_id: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        email: None,
        phone: None,
        job_title: None,
        roles: vec![],
        primary: false,
        owner_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> ConversionIds {
        ConversionIds::fresh()
    }

    fn qualified() -> Lead {
        let mut lead = crate::lead::tests_support::lead(Utc::now());
        lead.company_name = Some("Acme Ltd".into());
        lead.status = LeadStatus::Qualified;
        lead
    }

    #[test]
    fn a_new_account_takes_the_lead_s_company_and_domain() {
        let plan = ConvertRequest::default()
            .plan(&qualified(), None, "u", ids(), Utc::now(), &Pipeline::default_for_company())
            .unwrap();
        assert_eq!(plan.account.name, "Acme Ltd");
        assert_eq!(plan.account.domain.as_deref(), Some("acme.example"));
        assert_eq!(plan.account.primary_contact_id, Some(plan.contact.id.to_string()));
        assert_eq!((plan.account.contact_count, plan.account.open_opportunities), (1, 1));
        assert_eq!(plan.opportunity.stage, "qualification");
        assert_eq!(plan.lead.status, LeadStatus::Converted);
        assert_eq!(plan.activity.related.len(), 4);
    }

    #[test]
    fn bad_overrides_are_named_with_their_part() {
        let req = ConvertRequest {
            opportunity: Some(ConvertOpportunity {
                stage: Some("closed_won".into()),
                close_date: Some("soon".into()),
                ..Default::default()
            }),
            account: Some(NewAccount { size: Some("huge".into()), ..Default::default() }),
            ..Default::default()
        };
        let e = req.plan(&qualified(), None, "u", ids(), Utc::now(), &Pipeline::default_for_company()).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["account.size", "opportunity.stage", "opportunity.close_date"]);
    }
}

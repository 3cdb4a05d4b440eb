//! A person reaching the company through a channel (a web form, a WhatsApp message): a new lead
//! when nobody of the company holds their email or phone, otherwise the contact logged on the
//! lead that does and a score bump — never a duplicate, and never told apart to the sender.
//! Each contact is applied once: a done-record keyed by the submission or message commits in the
//! same transaction as its writes.

use chrono::{DateTime, Duration, Utc};
use keel_core::activity::{Activity, ActivityType, RecordKind, Related};
use keel_core::consent::{ConsentRecord, ConsentState};
use keel_core::form::OwnerRule;
use keel_core::{Lead, LeadDraft};
use keel_events::{Actor, Envelope, LeadCreated, LeadUpdated};
use keel_store::audit::AuditRecord;
use keel_store::consent::{Guard, WITHDRAWN_FIELD};
use keel_store::crm::{activity_item, timeline_items};
use keel_store::db::{n, s};
use keel_store::idempotency::IdempotencyRecord;
use keel_store::leads::{self, add_capture, add_replace, holder};
use keel_store::{AttributeValue, Db, Refusal, StoreError, TenantKeys, UnitOfWork, WriteError};
use ulid::Ulid;

use crate::store::round_robin_pk;

/// Who acted: the channel, named in events and audit records (`form:<id>`, `whatsapp`).
#[derive(Debug, Clone)]
pub struct Channel {
    pub actor_id: String,
    pub role: &'static str,
    pub request_id: String,
    pub source_ip: String,
}

impl Channel {
    fn actor(&self) -> Actor {
        Actor { user_id: self.actor_id.clone(), role: self.role.to_string() }
    }

    fn audit(&self, action: &str, lead_id: &str, changes: Vec<keel_store::audit::FieldChange>) -> AuditRecord {
        AuditRecord {
            id: Ulid::new(),
            at: Utc::now(),
            actor_id: self.actor_id.clone(),
            role: self.role.to_string(),
            action: action.to_string(),
            entity_type: "lead".into(),
            entity_id: lead_id.to_string(),
            changes,
            request_id: self.request_id.clone(),
            source_ip: self.source_ip.clone(),
        }
    }
}

/// What the contact logs on the lead's timeline.
#[derive(Debug, Clone)]
pub struct Logged {
    pub activity_type: ActivityType,
    pub subject: String,
    pub body: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// One contact from a channel.
pub struct Contact<'a> {
    pub channel: &'a Channel,
    pub lead: LeadDraft,
    pub owner: &'a OwnerRule,
    /// The user a lead falls to when no rule finds anyone (the form's author).
    pub fallback_owner: &'a str,
    /// Logged for a new lead too (a WhatsApp message); a known lead always gets `again`.
    pub logged_when_new: Option<Logged>,
    pub again: Logged,
    /// What the person agreed to, appended to their consent ledger.
    pub consent: Option<ConsentRecord>,
    /// Applied once per this key (a submission's fingerprint, a message id) for `keep` hours.
    pub once: (String, i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created(String),
    Reached(String),
    /// Applied already (a retry, a redelivery).
    Done,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Created(_) => "created",
            Outcome::Reached(_) => "reached",
            Outcome::Done => "done",
        }
    }
}

/// The most times a contact re-reads a lead that changed under it before giving up (the channel
/// retries: forms answer 503, WhatsApp redelivers). Enough for a burst of parallel contacts from
/// one person: each round one of them wins.
const ATTEMPTS: usize = 10;

/// The contact's consent on the lead's ledger, unless the person withdrew it: ticking a public
/// form's box never lifts a withdrawal (the box is anyone's to tick; the person unsubscribed).
fn consent(
    unit: &mut UnitOfWork<'_>,
    keys: &TenantKeys,
    c: &Contact<'_>,
    lead_id: &str,
    before: &ConsentState,
    record: &ConsentRecord,
) -> Result<(), StoreError> {
    let audit = c.channel.audit("consent.grant", lead_id, vec![keel_store::consent::change(before, record)]);
    keel_store::consent::record(unit, keys, lead_id, record, Guard::NotWithdrawn, c.channel.actor(), &audit)
}

pub async fn apply(db: &Db, keys: &TenantKeys, mut contact: Contact<'_>) -> Result<Outcome, StoreError> {
    let mut known = known_lead(db, keys, &contact.lead).await?;
    for _ in 0..ATTEMPTS {
        let now = Utc::now();
        let result = match &known {
            None => create(db, keys, &contact, now).await,
            Some(id) => reach(db, keys, &contact, id, now).await,
        };
        match result {
            Ok(outcome) => return Ok(outcome),
            Err(WriteError::Refused(Refusal::KeyUsed)) => return Ok(Outcome::Done),
            // The person withdrew this consent: the contact lands without it.
            Err(WriteError::Refused(Refusal::Rule { field: WITHDRAWN_FIELD, .. })) => contact.consent = None,
            // Someone took the email or phone meanwhile (a parallel contact): this is their lead now.
            Err(WriteError::Refused(Refusal::Duplicate { existing_id, .. })) => known = Some(existing_id),
            Err(WriteError::Refused(Refusal::Stale)) => {
                // Step aside a little, unevenly, so the contacts racing for this lead take turns.
                let pause = 5 + u64::from(Ulid::new().random() as u8 % 20);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(WriteError::Refused(other)) => return Err(StoreError::Other(format!("contact refused: {other:?}"))),
            Err(WriteError::Store(e)) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("the lead kept changing; try again".into()))
}

/// The lead already holding the contact's email (or else its phone): 1-2 GetItem in parallel.
async fn known_lead(db: &Db, keys: &TenantKeys, draft: &LeadDraft) -> Result<Option<String>, StoreError> {
    let email = draft.email.as_ref().map(|e| keys.lead_email_marker(e.as_str()));
    let phone = draft.phone.as_ref().map(|p| keys.lead_phone_marker(p.as_str()));
    let (by_email, by_phone) = futures::join!(
        async {
            match &email {
                Some(pk) => holder(db, pk).await,
                None => Ok(None),
            }
        },
        async {
            match &phone {
                Some(pk) => holder(db, pk).await,
                None => Ok(None),
            }
        }
    );
    Ok(by_email?.or(by_phone?))
}

fn once(unit: &mut UnitOfWork<'_>, keys: &TenantKeys, contact: &Contact<'_>, outcome: &str, now: DateTime<Utc>) {
    let (key, hours) = &contact.once;
    let mut record = IdempotencyRecord::new(key.clone(), 202, outcome.to_string(), now);
    record.expires_at = (now + Duration::hours(*hours)).timestamp();
    unit.idempotency(keys.idempotency("capture", key), &record, now);
}

fn activity(contact: &Contact<'_>, logged: &Logged, lead: &Lead, owner: &str, now: DateTime<Utc>) -> Activity {
    let shown_on = lead
        .conversion
        .as_ref()
        .map(|c| {
            vec![
                Related { kind: RecordKind::Account, id: c.account_id.clone() },
                Related { kind: RecordKind::Contact, id: c.contact_id.clone() },
            ]
        })
        .unwrap_or_default();
    Activity {
        id: Ulid::new(),
        activity_type: logged.activity_type,
        subject: logged.subject.clone(),
        body: logged.body.clone(),
        related: vec![Related { kind: RecordKind::Lead, id: lead.id.to_string() }],
        occurred_at: logged.occurred_at,
        duration_minutes: None,
        outcome: None,
        owner_id: owner.to_string(),
        created_by: contact.channel.actor_id.clone(),
        created_at: now,
        version: 1,
        shown_on,
    }
}

fn log(unit: &mut UnitOfWork<'_>, keys: &TenantKeys, a: &Activity) -> Result<(), StoreError> {
    let table = unit.table().to_string();
    unit.include(keel_store::db::put_new(&table, activity_item(keys, a)?));
    for entry in timeline_items(keys, a)? {
        unit.include(keel_store::db::put_new(&table, entry));
    }
    Ok(())
}

async fn create(db: &Db, keys: &TenantKeys, c: &Contact<'_>, now: DateTime<Utc>) -> Result<Outcome, WriteError> {
    let owner = owner(db, keys, c.owner, c.fallback_owner).await?;
    let mut draft = c.lead.clone();
    draft.owner_id = Some(owner.clone());
    let lead = Lead::capture(draft, Ulid::new(), &c.channel.actor_id, now);
    let id = lead.id.to_string();
    let event = Envelope::new(keys.tenant_id(), c.channel.actor(), now, &LeadCreated::from(&lead));
    let changes = AuditRecord::diff(None, &lead.as_json(), &Lead::RECORDED_FIELDS);
    let mut unit = UnitOfWork::new(db);
    add_capture(&mut unit, keys, &lead, &event, &c.channel.audit("lead.create", &id, changes))?;
    if let Some(logged) = &c.logged_when_new {
        log(&mut unit, keys, &activity(c, logged, &lead, &owner, now))?;
    }
    if let Some(record) = &c.consent {
        consent(&mut unit, keys, c, &id, &ConsentState::default(), record)?;
    }
    once(&mut unit, keys, c, "created", now);
    unit.commit().await?;
    Ok(Outcome::Created(id))
}

async fn reach(
    db: &Db,
    keys: &TenantKeys,
    c: &Contact<'_>,
    lead_id: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, WriteError> {
    // The consent state is read beside the lead, not after it: the record is written on it.
    let consent_state = async {
        match &c.consent {
            Some(_) => keel_store::consent::state(db, keys, lead_id).await.map(Some),
            None => Ok(None),
        }
    };
    let (current, consent_state) = tokio::try_join!(leads::get(db, keys, lead_id), consent_state)?;
    let Some(current) = current else {
        // The marker outlived its lead (it cannot, but a contact must not be lost): start afresh.
        return create(db, keys, c, now).await;
    };
    let mut unit = UnitOfWork::new(db);
    if let Some(next) = current.reached_out(now) {
        let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Lead::RECORDED_FIELDS);
        let event = Envelope::new(
            keys.tenant_id(),
            c.channel.actor(),
            now,
            &LeadUpdated {
                lead_id: lead_id.to_string(),
                version: next.version,
                changed: changes.iter().map(|ch| ch.field.clone()).collect(),
                before: LeadCreated::from(&current),
                after: LeadCreated::from(&next),
            },
        );
        add_replace(&mut unit, keys, &current, &next, &event, &c.channel.audit("lead.reached_out", lead_id, changes))?;
    } else {
        // A converted lead is history: the contact is logged (on its account and contact too),
        // the lead itself stays as it was — but only if it still is.
        unit.include_entity(leads::version_check(unit.table(), keys, &current));
    }
    log(&mut unit, keys, &activity(c, &c.again, &current, &current.owner_id, now))?;
    if let (Some(record), Some(before)) = (&c.consent, &consent_state) {
        // A withdrawal stands against a form's tick: the contact lands without the record (the
        // guard in the transaction still refuses one that a withdrawal overtakes meanwhile).
        if !before.withdrawn(record.channel) {
            consent(&mut unit, keys, c, lead_id, before, record)?;
        }
    }
    once(&mut unit, keys, c, "reached", now);
    unit.commit().await?;
    Ok(Outcome::Reached(lead_id.to_string()))
}

/// The user a new lead goes to: the rule's user while active, else the company's active sales
/// reps in turn (an atomic counter: parallel contacts never take the same turn), else its
/// managers and administrators in turn, else `fallback`.
pub async fn owner(db: &Db, keys: &TenantKeys, rule: &OwnerRule, fallback: &str) -> Result<String, StoreError> {
    if let OwnerRule::User { user_id } = rule {
        if let Some(user) = db.get(&keys.user(user_id), "USER").await? {
            if user.get("active").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false) {
                return Ok(user_id.clone());
            }
        }
    }
    let out = db
        .client
        .query()
        .table_name(&db.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk")
        .filter_expression("active = :yes")
        .expression_attribute_values(":pk", s(keys.key("USERS")))
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let users: Vec<(String, String)> = out
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| {
            let text = |k: &str| u.get(k).and_then(|v| v.as_s().ok()).cloned();
            Some((text("user_id")?, text("role")?))
        })
        .collect();
    let mut pool: Vec<&String> = users.iter().filter(|(_, r)| r == "sales_rep").map(|(id, _)| id).collect();
    if pool.is_empty() {
        pool = users.iter().filter(|(_, r)| r == "manager" || r == "admin").map(|(id, _)| id).collect();
    }
    if pool.is_empty() {
        return Ok(fallback.to_string());
    }
    pool.sort();
    let turn = next_turn(db, keys).await?;
    Ok(pool[(turn % pool.len() as u64) as usize].clone())
}

async fn next_turn(db: &Db, keys: &TenantKeys) -> Result<u64, StoreError> {
    let out = db
        .client
        .update_item()
        .table_name(&db.table)
        .key("pk", s(round_robin_pk(keys)))
        .key("sk", s("COUNTER"))
        .update_expression("ADD turn :one")
        .expression_attribute_values(":one", n(1))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out.attributes.and_then(|a| a.get("turn").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())).unwrap_or(1))
}

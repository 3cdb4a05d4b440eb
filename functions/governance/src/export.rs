//! `GET …/leads/{lead_id}/export`: everything the company holds about one person, as JSON — the
//! lead, its consent ledger, its qualification history (assessments carry notes about them), its
//! timeline, the audit entries about it, and the contact it became with that contact's own
//! timeline and audit entries — for a subject access request. Administrators only, and every
//! export is itself audited. The deal a conversion opened is the account's, not the person's, so
//! it is not part of it.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use keel_core::activity::{Activity, RecordKind};
use keel_core::consent::ConsentRecord;
use keel_core::contact::Contact;
use keel_core::qualification::HistoryEntry;
use keel_core::Lead;
use keel_http::path::record_id;
use keel_http::{ApiError, ApiPath, AppState, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::{self, AuditRecord};
use keel_store::crm::{self, CONTACT_SK, TIMELINE};
use keel_store::index_page::{every, IndexPage, TABLE};
use keel_store::{consent, db, leads, Db, Item, StoreError, TenantKeys, UnitOfWork};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a collection is read in: full pages, followed to the end.
const PAGE: i32 = 200;

/// The contact a converted lead became, with what is held about it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactExport {
    pub contact: Contact,
    /// The contact's timeline, newest first, without what the lead's timeline already lists.
    pub activities: Vec<Activity>,
    pub audit: Vec<AuditRecord>,
}

/// Everything held about one person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonalDataExport {
    pub exported_at: DateTime<Utc>,
    pub lead: Lead,
    /// The consent ledger, oldest first.
    pub consent: Vec<ConsentRecord>,
    /// Qualification assessments and status decisions, newest first.
    pub qualification: Vec<HistoryEntry>,
    /// The lead's timeline, newest first.
    pub activities: Vec<Activity>,
    /// Audit entries about the lead, newest first.
    pub audit: Vec<AuditRecord>,
    /// When the lead was converted: the contact it became.
    pub contact: Option<ContactExport>,
}

/// Every item of a collection (`partition`, sort keys starting `prefix`), newest first.
async fn all(db: &Db, index: &'static str, partition: String, prefix: Option<&str>) -> Result<Vec<Item>, StoreError> {
    let q = IndexPage { descending: true, ..IndexPage::collection(index, partition, prefix, PAGE) };
    every(db, q).await
}

fn read<T: serde::de::DeserializeOwned>(items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    items.into_iter().map(db::from_item).collect()
}

async fn timeline(db: &Db, keys: &TenantKeys, kind: RecordKind, id: &str) -> Result<Vec<Activity>, StoreError> {
    read(all(db, TABLE, crm::record_pk(keys, kind, id), Some(TIMELINE)).await?)
}

async fn audit_of(db: &Db, keys: &TenantKeys, entity_type: &str, id: &str) -> Result<Vec<AuditRecord>, StoreError> {
    read(all(db, "gsi1", audit::by_entity(keys, entity_type, id), None).await?)
}

/// Everything the company holds about the person a lead is (administrators only). The export is
/// recorded in the audit trail.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/leads/{lead_id}/export",
    tag = "governance",
    params(("company_id" = Id, Path), ("lead_id" = Id, Path)),
    responses((status = 200, description = "What is held about the person", body = PersonalDataExport),
        (status = 403, description = "Not an administrator")),
    security(("bearer" = []))
)]
pub async fn export_lead(
    State(app): State<AppState>,
    ctx: TenantContext,
    meta: RequestMeta,
    ApiPath((company_id, lead_id)): ApiPath<(Id, Id)>,
) -> Result<Json<PersonalDataExport>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadAudit)?;
    let id = record_id(&lead_id)?.to_string();
    let db = &app.db;
    let lead = leads::get(db, keys, &id).await?.ok_or(ApiError::NotFound)?;
    let (mut records, qualification, activities, audit) = tokio::try_join!(
        consent::history_all(db, keys, &id),
        async { read(all(db, TABLE, keys.lead(&id), Some(leads::QUALIFICATION_PREFIX)).await?) },
        timeline(db, keys, RecordKind::Lead, &id),
        audit_of(db, keys, "lead", &id),
    )?;
    records.reverse();
    let contact = match lead.conversion.as_ref().map(|c| c.contact_id.clone()) {
        None => None,
        Some(contact_id) => {
            let pk = crm::contact_pk(keys, &contact_id);
            let (item, contact_activities, audit) = tokio::try_join!(
                db.get(&pk, CONTACT_SK),
                timeline(db, keys, RecordKind::Contact, &contact_id),
                audit_of(db, keys, "contact", &contact_id),
            )?;
            match item {
                Some(item) => {
                    // An activity logged before the conversion shows on both timelines: list it once.
                    let listed: std::collections::HashSet<_> = activities.iter().map(|a| a.id).collect();
                    let contact_activities =
                        contact_activities.into_iter().filter(|a| !listed.contains(&a.id)).collect();
                    Some(ContactExport { contact: db::from_item(item)?, activities: contact_activities, audit })
                }
                None => None,
            }
        }
    };
    // Who exported whom, and when: the export holds personal data, so handing it out is audited.
    let mut unit = UnitOfWork::new(db);
    unit.audit(keys, &meta.audit(&ctx, "lead.export", "lead", &id, vec![]))?;
    unit.commit().await?;
    Ok(Json(PersonalDataExport {
        exported_at: Utc::now(),
        lead,
        consent: records,
        qualification,
        activities,
        audit,
        contact,
    }))
}

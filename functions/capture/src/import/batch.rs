//! One batch of an import's rows applied in one transaction with the import's checkpoint: the
//! rows' leads (new ones with their markers, `LeadCreated` events and audit records; known people's
//! leads with their empty fields filled), the report lines of the rows that failed or were
//! skipped, and the job's progress — conditioned on the checkpoint being where this batch starts.
//! So a retried, redelivered or parallel leg can never apply a row twice: whoever commits a batch
//! moves the checkpoint, and every other attempt at it fails as a whole.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use keel_core::{FieldError, Lead, LeadDraft, LeadStatus};
use keel_events::{Actor, Envelope, LeadCreated, LeadUpdated};
use keel_store::audit::AuditRecord;
use keel_store::db::{n, s};
use keel_store::leads::{add_capture, add_replace, version_check};
use keel_store::{jobs, lookup, Db, StoreError, TenantKeys, UnitOfWork};
use sha2::Digest;
use ulid::Ulid;

use super::record::{report_item, Import, ReportLine};

/// The most items a transaction takes, the checkpoint's own included.
const ITEMS_MAX: usize = keel_store::unit::MAX_ITEMS;
/// The most items one row can need: its lead, two markers, its event and its audit record.
pub const ROW_ITEMS_MAX: usize = 5;
/// Times a batch is decided again when a parallel capture or import took a row's email or phone,
/// or changed a lead it fills, between its reads and its write.
const ATTEMPTS: usize = 5;

/// A row read and checked: its number in the file and the lead it describes, or why it is none.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub number: u64,
    pub lead: Result<LeadDraft, Vec<FieldError>>,
    /// The row's values of the fields at fault, for the report.
    pub values: HashMap<String, String>,
}

impl ParsedRow {
    /// Items the row may need in the transaction (a failed row: its report line).
    pub fn items(&self) -> usize {
        if self.lead.is_ok() {
            ROW_ITEMS_MAX
        } else {
            1
        }
    }
}

/// Where a batch starts and ends in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub leg: u32,
    /// The checkpoint as the batch found it.
    pub from_row: u64,
    /// Where it leaves it: the last row's number and the byte offset after it.
    pub to_row: u64,
    pub to_offset: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
}

impl Counts {
    pub fn pairs(&self) -> [(&'static str, u64); 5] {
        [
            ("read", self.read),
            ("created", self.created),
            ("updated", self.updated),
            ("skipped", self.skipped),
            ("failed", self.failed),
        ]
    }
}

/// What became of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Committed(Counts),
    /// The checkpoint was not where the batch started: someone else applied these rows.
    Moved,
}

/// What a row comes to.
enum Decision {
    Create(Box<Lead>),
    Fill {
        current: Box<Lead>,
        next: Box<Lead>,
    },
    /// Nothing to write but the report line; when the row found a known person, their lead as
    /// read, which must still be so when the batch commits (else the batch is decided again).
    Skip(String, Option<Box<Lead>>),
    Fail(Vec<FieldError>),
}

/// The lead id a row makes: the same for every attempt at it, so even a lost answer retried
/// outside the checkpoint's guard could not make a second lead. Its time is the import's start and
/// its row (counted down) leads the rest, so the leads list, newest first, shows an import's leads
/// together and in the file's order.
fn lead_id(import: &Import, row: u64) -> Ulid {
    let digest = sha2::Sha256::digest(format!("{}#{row}", import.id).as_bytes());
    let mut random = [0u8; 10];
    random[..4].copy_from_slice(&(u32::MAX - row.min(u64::from(u32::MAX)) as u32).to_be_bytes());
    random[4..].copy_from_slice(&digest[..6]);
    let mut wide = [0u8; 16];
    wide[6..].copy_from_slice(&random);
    Ulid::from_parts(import.updated_at.timestamp_millis().max(0) as u64, u128::from_be_bytes(wide))
}

fn marker_keys(keys: &TenantKeys, draft: &LeadDraft) -> Vec<String> {
    let email = draft.email.as_ref().map(|e| keys.lead_email_marker(e.as_str()));
    let phone = draft.phone.as_ref().map(|p| keys.lead_phone_marker(p.as_str()));
    email.into_iter().chain(phone).collect()
}

/// What a batch's reads found: which leads hold its rows' emails and phones (1 BatchGetItem of
/// the markers), and those leads (1 BatchGetItem, when any are held).
#[derive(Debug, Clone, Default)]
pub struct Found {
    markers: Vec<String>,
    holders: HashMap<String, String>,
    leads: HashMap<String, Lead>,
}

impl Found {
    pub async fn read(db: &Db, keys: &TenantKeys, rows: &[ParsedRow]) -> Result<Found, StoreError> {
        let mut markers: Vec<String> =
            rows.iter().filter_map(|r| r.lead.as_ref().ok()).flat_map(|d| marker_keys(keys, d)).collect();
        markers.sort();
        markers.dedup();
        let holders = lookup::holders(db, markers.clone()).await?;
        let leads = lookup::leads(db, keys, holders.values().cloned().collect()).await?;
        Ok(Found { markers, holders, leads })
    }

    /// Whether these reads, made while the batch `before` was committing, still hold after it:
    /// they do unless they share an email, a phone or a lead with it. (Should they miss a
    /// parallel capture's or edit's write anyway, the transaction's conditions catch it: every
    /// decision on a known person's lead is conditioned on its version.)
    pub fn holds_after(&self, before: &Found) -> bool {
        let shares_marker = self.markers.iter().any(|m| before.markers.binary_search(m).is_ok());
        let shares_lead = self.holders.values().any(|id| before.holders.values().any(|held| held == id));
        !shares_marker && !shares_lead
    }
}

/// Applies `rows` (the file's rows after `span.from_row` up to `span.to_row`), deciding them on
/// `read_ahead` when the worker read them while the batch before was committing. Answers what
/// became of the batch and the reads it was decided on.
pub async fn apply(
    db: &Db,
    keys: &TenantKeys,
    import: &Import,
    span: Span,
    rows: &[ParsedRow],
    read_ahead: Option<Found>,
) -> Result<(Applied, Found), StoreError> {
    let mut found = match read_ahead {
        Some(found) => found,
        None => Found::read(db, keys, rows).await?,
    };
    for attempt in 1..=ATTEMPTS {
        let decisions = decide(keys, import, rows, &found);
        let now = Utc::now();
        let (items, owners, counts) = writes(db, keys, import, span, rows, decisions, now)?;
        match db.transact(items, None).await {
            Ok(()) => return Ok((Applied::Committed(counts), found)),
            Err(StoreError::Cancelled(reasons)) => {
                let failed: Vec<usize> =
                    reasons.iter().enumerate().filter(|(_, r)| r.condition_failed()).map(|(i, _)| i).collect();
                if failed.contains(&owners.len()) {
                    return Ok((Applied::Moved, found));
                }
                // A row's email or phone was taken, or a lead it fills changed, since the reads:
                // decide the batch again on fresh reads (the row now finds the lead that won).
                let rows_hit: Vec<u64> = failed.iter().filter_map(|i| owners.get(*i).copied().flatten()).collect();
                tracing::info!(import_id = %import.id, attempt, rows = ?rows_hit, "import batch lost a race; deciding again");
                if attempt == ATTEMPTS {
                    return Err(StoreError::Unavailable("an import batch kept losing races".into()));
                }
                found = Found::read(db, keys, rows).await?;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the last attempt returns")
}

/// What each row comes to, from its checks, the rows before it in the batch, and what the reads
/// found of the company's leads.
fn decide(keys: &TenantKeys, import: &Import, rows: &[ParsedRow], found: &Found) -> Vec<Decision> {
    let Found { holders, leads, .. } = found;
    let now = Utc::now();
    let mut taken: HashMap<String, u64> = HashMap::new(); // marker or lead id → the row that has it
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let draft = match &row.lead {
            Err(errors) => {
                out.push(Decision::Fail(errors.clone()));
                continue;
            }
            Ok(d) => d,
        };
        let keys_of_row = marker_keys(keys, draft);
        if let Some(first) = keys_of_row.iter().find_map(|k| taken.get(k)) {
            out.push(Decision::Skip(format!("repeats row {first} (same email or phone)"), None));
            continue;
        }
        let holder = keys_of_row.iter().find_map(|k| holders.get(k)).cloned();
        for k in &keys_of_row {
            taken.insert(k.clone(), row.number);
        }
        let Some(lead_id) = holder else {
            let mut draft = draft.clone();
            draft.owner_id = Some(import.owner_id.clone());
            out.push(Decision::Create(Box::new(Lead::capture(
                draft,
                lead_id(import, row.number),
                &import.created_by,
                now,
            ))));
            continue;
        };
        if let Some(first) = taken.get(&lead_id) {
            out.push(Decision::Skip(format!("repeats row {first} (the same lead)"), None));
            continue;
        }
        taken.insert(lead_id.clone(), row.number);
        let Some(current) = leads.get(&lead_id) else {
            // A marker whose lead is gone (erased between the two reads): nothing to fill.
            out.push(Decision::Skip(format!("already in Keel as lead {lead_id}"), None));
            continue;
        };
        let name = format!("{} {} (lead {lead_id})", current.first_name, current.last_name);
        let reason = match current.status {
            LeadStatus::Converted => format!("already in Keel as {name}, converted; not changed"),
            LeadStatus::Archived => format!("already in Keel as {name}, archived; not changed"),
            _ => format!("already in Keel as {name}; nothing to add"),
        };
        match current.filled_from(draft, now) {
            Some(next) => out.push(Decision::Fill { current: Box::new(current.clone()), next: Box::new(next) }),
            None => out.push(Decision::Skip(reason, Some(Box::new(current.clone())))),
        }
    }
    out
}

/// The batch's transaction: its rows' items, then the checkpoint (last). Also which row each item
/// is for, and the counts the batch adds.
#[allow(clippy::type_complexity)]
fn writes(
    db: &Db,
    keys: &TenantKeys,
    import: &Import,
    span: Span,
    rows: &[ParsedRow],
    decisions: Vec<Decision>,
    now: DateTime<Utc>,
) -> Result<(Vec<TransactWriteItem>, Vec<Option<u64>>, Counts), StoreError> {
    let actor = Actor { user_id: import.created_by.clone(), role: "import".into() };
    let mut items: Vec<TransactWriteItem> = Vec::new();
    let mut owners: Vec<Option<u64>> = Vec::new();
    let mut counts = Counts { read: rows.len() as u64, ..Counts::default() };
    for (row, decision) in rows.iter().zip(decisions) {
        let mut unit = UnitOfWork::new(db);
        match decision {
            Decision::Create(lead) => {
                let id = lead.id.to_string();
                let event = Envelope::new(keys.tenant_id(), actor.clone(), now, &LeadCreated::from(lead.as_ref()));
                let changes = AuditRecord::diff(None, &lead.as_json(), &Lead::RECORDED_FIELDS);
                add_capture(&mut unit, keys, &lead, &event, &audit(import, "lead.create", &id, changes, now))?;
                counts.created += 1;
            }
            Decision::Fill { current, next } => {
                let id = next.id.to_string();
                let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Lead::RECORDED_FIELDS);
                let event = Envelope::new(
                    keys.tenant_id(),
                    actor.clone(),
                    now,
                    &LeadUpdated {
                        lead_id: id.clone(),
                        version: next.version,
                        changed: changes.iter().map(|c| c.field.clone()).collect(),
                        before: LeadCreated::from(current.as_ref()),
                        after: LeadCreated::from(next.as_ref()),
                    },
                );
                add_replace(
                    &mut unit,
                    keys,
                    &current,
                    &next,
                    &event,
                    &audit(import, "lead.update", &id, changes, now),
                )?;
                counts.updated += 1;
            }
            Decision::Skip(reason, read) => {
                if let Some(lead) = read {
                    unit.include_entity(version_check(unit.table(), keys, &lead));
                }
                let line = ReportLine {
                    row: row.number,
                    outcome: "skipped".into(),
                    field: String::new(),
                    reason,
                    value: String::new(),
                };
                unit.include(report_item(db, keys, &import.id, &[line])?);
                counts.skipped += 1;
            }
            Decision::Fail(errors) => {
                let lines: Vec<ReportLine> = errors
                    .iter()
                    .map(|e| ReportLine {
                        row: row.number,
                        outcome: "failed".into(),
                        field: e.field.clone(),
                        reason: e.message.clone(),
                        value: row.values.get(&e.field).cloned().unwrap_or_default(),
                    })
                    .collect();
                unit.include(report_item(db, keys, &import.id, &lines)?);
                counts.failed += 1;
            }
        }
        for item in unit.into_items() {
            items.push(item);
            owners.push(Some(row.number));
        }
    }
    debug_assert!(items.len() < ITEMS_MAX, "a batch is sized to fit one transaction");
    items.push(checkpoint(&db.table, keys, &import.id, span, &counts, now));
    Ok((items, owners, counts))
}

fn audit(
    import: &Import,
    action: &str,
    lead_id: &str,
    changes: Vec<keel_store::audit::FieldChange>,
    now: DateTime<Utc>,
) -> AuditRecord {
    AuditRecord {
        id: Ulid::new(),
        at: now,
        actor_id: import.created_by.clone(),
        role: "import".into(),
        action: action.to_string(),
        entity_type: "lead".into(),
        entity_id: lead_id.to_string(),
        changes,
        // The import is the request that did it.
        request_id: format!("import:{}", import.id),
        source_ip: String::new(),
    }
}

/// Moves the checkpoint past the batch and adds its counts, if it is where the batch started.
fn checkpoint(
    table: &str,
    keys: &TenantKeys,
    import_id: &str,
    span: Span,
    counts: &Counts,
    now: DateTime<Utc>,
) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(jobs::pk(keys, import_id)))
        .key("sk", s("JOB"))
        .condition_expression("cp_row = :from AND cp_leg = :leg")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":from", n(span.from_row))
        .expression_attribute_values(":leg", n(span.leg))
        .expression_attribute_values(":row", n(span.to_row))
        .expression_attribute_values(":offset", n(span.to_offset))
        .expression_attribute_values(":running", s("running"))
        .expression_attribute_values(":now", s(now.to_rfc3339()));
    let mut adds = Vec::new();
    for (name, by) in counts.pairs() {
        update = update
            .expression_attribute_names(format!("#{name}"), name)
            .expression_attribute_values(format!(":{name}"), n(by));
        adds.push(format!("progress.#{name} :{name}"));
    }
    let expression =
        format!("SET cp_row = :row, cp_offset = :offset, #state = :running, updated_at = :now ADD {}", adds.join(", "));
    let update = update.update_expression(expression).build().expect("table, key and expressions are set");
    TransactWriteItem::builder().update(update).build()
}

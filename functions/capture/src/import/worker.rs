//! The import consumer (`ImportFunction`): one leg of an import per `ImportRequested` event. A leg
//! reads the file from the job's checkpoint and applies it a batch at a time (each batch commits
//! with the checkpoint), until the file ends or the leg's time is up; then it asks for the next
//! leg in the transaction that completes this one. A leg killed half-way (a timeout, a crash)
//! leaves the checkpoint at its last committed batch, and the redelivered event goes on from
//! there — so however the legs fall, every row is applied exactly once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::Utc;
use keel_core::import::{row_lead, ImportAttribution, LeadColumn};
use keel_core::{FieldError, NewLead};
use keel_events::{DomainEvent, Envelope, ImportRequested};
use keel_store::db::{n, s};
use keel_store::{jobs, outbox, Db, TenantKeys};
use keel_worker::{Consumer, HandlerError};

use super::batch::{self, Applied, Found, ParsedRow, Span, ROW_ITEMS_MAX};
use super::file::{object_key, FileError, Files, Row, Rows};
use super::record::{self, Checkpoint, Import};

/// How long a leg works before handing over to the next: well inside the function's 10 s timeout
/// (which the event feed's settle window is measured by), with a batch's time to spare.
pub const LEG_SECONDS: u64 = 6;

pub struct ImportWork {
    pub db: Db,
    pub files: Files,
    pub leg_time: Duration,
    /// The most rows a leg takes (tests make legs short to see them hand over).
    pub leg_rows: u64,
}

impl ImportWork {
    pub fn new(db: Db, files: Files) -> ImportWork {
        let seconds = std::env::var("KEEL_IMPORT_LEG_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(LEG_SECONDS);
        ImportWork { db, files, leg_time: Duration::from_secs(seconds), leg_rows: u64::MAX }
    }
}

impl Consumer for ImportWork {
    fn name(&self) -> &'static str {
        "import"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        if event.detail_type != ImportRequested::DETAIL_TYPE {
            return Ok(Vec::new());
        }
        let request: ImportRequested = serde_json::from_value(event.detail.clone())
            .map_err(|e| HandlerError::Refuse(format!("ImportRequested unreadable: {e}")))?;
        let keys = TenantKeys::new(&event.tenant_id);
        self.leg(&keys, &request, event).await
    }
}

/// A row through the import's mapping: the lead it describes, or every field error it has.
pub fn parse(import: &Import, row: Row) -> ParsedRow {
    let (lead, values) = mapped(&import.mapping, &import.attribution, &row);
    ParsedRow { number: row.number, lead: lead.and_then(|l| l.validate().map_err(|e| e.0)), values }
}

/// Rows read from the file, as many as one transaction takes.
struct Batch {
    rows: Vec<ParsedRow>,
    /// The byte offset after the last row.
    end: u64,
    file_ended: bool,
    /// What stopped the reading (the rows before it are still imported).
    broken: Option<FileError>,
}

/// The file read a batch at a time.
struct Reader<'a> {
    rows: Rows,
    import: &'a Import,
}

impl Reader<'_> {
    /// The next batch, starting at byte `start`, of at most `most` rows: as many as fit one
    /// transaction with the checkpoint, each row counted at the most items it can need.
    async fn batch(&mut self, start: u64, most: u64) -> Batch {
        let mut batch = Batch { rows: Vec::new(), end: start, file_ended: false, broken: None };
        let mut items = 1; // the checkpoint
        while items + ROW_ITEMS_MAX <= keel_store::unit::MAX_ITEMS && (batch.rows.len() as u64) < most {
            match self.rows.next().await {
                Ok(Some(row)) => {
                    batch.end = row.end;
                    let parsed = parse(self.import, row);
                    items += parsed.items();
                    batch.rows.push(parsed);
                }
                Ok(None) => {
                    batch.file_ended = true;
                    break;
                }
                Err(e) => {
                    batch.broken = Some(e);
                    break;
                }
            }
        }
        batch
    }
}

/// A row read through `mapping` as the lead it describes (not yet held to the lead rules), or
/// the fields whose cells cannot be text; and the mapped fields' values (200 characters each),
/// for the report. The dry run and the import read rows alike through this.
pub fn mapped(
    mapping: &[Option<LeadColumn>],
    attribution: &ImportAttribution,
    row: &Row,
) -> (Result<NewLead, Vec<FieldError>>, HashMap<String, String>) {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut texts = Vec::with_capacity(mapping.len());
    let mut values = HashMap::new();
    for (column, field) in mapping.iter().enumerate() {
        let cell = row.cells.get(column).cloned().unwrap_or_else(|| Ok(String::new()));
        match (field, cell) {
            (Some(field), Err(why)) => {
                errors.push(FieldError { field: field.as_str().into(), message: why.into() });
                texts.push(String::new());
            }
            (Some(field), Ok(text)) => {
                values.insert(field.as_str().to_string(), text.chars().take(200).collect());
                texts.push(text);
            }
            (None, _) => texts.push(String::new()),
        }
    }
    let lead = if errors.is_empty() { Ok(row_lead(mapping, &texts, attribution)) } else { Err(errors) };
    (lead, values)
}

impl ImportWork {
    async fn leg(
        &self,
        keys: &TenantKeys,
        request: &ImportRequested,
        event: &Envelope,
    ) -> Result<Vec<TransactWriteItem>, HandlerError> {
        let id = &request.import_id;
        let (Some(import), Some((job, checkpoint))) =
            tokio::try_join!(record::get(&self.db, keys, id), record::job(&self.db, keys, id))?
        else {
            return Err(HandlerError::Refuse(format!("import {id} has no job")));
        };
        if finished(&job) || checkpoint.leg != request.leg {
            // Done, or a leg that was already handed over: a redelivery, nothing to do.
            return Ok(Vec::new());
        }
        let key = object_key(keys, id);
        let started = Instant::now();
        let mut at = checkpoint;
        let mut taken = 0u64;
        let mut last_batch = Duration::ZERO;
        let ended = 'leg: loop {
            let rows = match self.files.rows(&key, import.format, import.delimiter_byte(), at.offset, at.row).await {
                Ok(rows) => rows,
                Err(e) => return self.stopped(keys, id, at, e),
            };
            let mut reader = Reader { rows, import: &import };
            // The next batch, read (with its lookups) while this one commits.
            let mut ahead: Option<(Batch, Option<Found>)> = None;
            loop {
                if started.elapsed() >= self.leg_time || taken >= self.leg_rows {
                    break 'leg false;
                }
                let (batch, found) = match ahead.take() {
                    Some(read) => read,
                    None => (reader.batch(at.offset, self.leg_rows - taken).await, None),
                };
                let Some(last) = batch.rows.last() else {
                    match batch.broken {
                        Some(e) => return self.stopped(keys, id, at, e),
                        None => break 'leg true, // the file ended
                    }
                };
                let span = Span { leg: at.leg, from_row: at.row, to_row: last.number, to_offset: batch.end };
                let count = batch.rows.len() as u64;
                // Read ahead only when the leg has time for the next batch (else it is read again
                // by the next leg anyway).
                let batch_started = Instant::now();
                let read_on = batch.broken.is_none()
                    && !batch.file_ended
                    && taken + count < self.leg_rows
                    && started.elapsed() + last_batch < self.leg_time;
                let room = self.leg_rows.saturating_sub(taken + count);
                let (applied, next) =
                    tokio::join!(batch::apply(&self.db, keys, &import, span, &batch.rows, found), async {
                        if !read_on {
                            return None;
                        }
                        let next = reader.batch(span.to_offset, room).await;
                        // A failed look-ahead read costs nothing: the batch reads again itself.
                        let found = Found::read(&self.db, keys, &next.rows).await.ok();
                        Some((next, found))
                    });
                let (applied, used) = applied?;
                match applied {
                    Applied::Committed(_) => {
                        at.row = span.to_row;
                        at.offset = span.to_offset;
                        taken += count;
                        last_batch = batch_started.elapsed();
                        // Reads sharing a person with the batch just written are read again.
                        ahead = next.map(|(next, found)| (next, found.filter(|f| f.holds_after(&used))));
                    }
                    Applied::Moved => {
                        // Another runner of this leg got there first (one that was killed, or
                        // whose lease ran out on us): go on from where it left the file.
                        match record::job(&self.db, keys, id).await? {
                            Some((job, now_at)) if now_at.leg == request.leg && !finished(&job) => {
                                at = now_at;
                                continue 'leg;
                            }
                            _ => return Ok(Vec::new()),
                        }
                    }
                }
                if let Some(e) = batch.broken {
                    return self.stopped(keys, id, at, e);
                }
                if batch.file_ended {
                    break 'leg true;
                }
            }
        };
        let now = Utc::now();
        if ended {
            tracing::info!(import_id = %id, leg = at.leg, rows = at.row, "import done");
            return Ok(vec![self.finish(keys, id, at, now)]);
        }
        // Hand over: the next leg's event commits with this leg's end (once: conditioned on the leg).
        let next = ImportRequested { import_id: id.clone(), leg: at.leg + 1 };
        let event = Envelope::new(keys.tenant_id(), event.actor.clone(), now, &next);
        tracing::info!(import_id = %id, leg = at.leg, rows = at.row, "import leg handed over");
        Ok(vec![self.hand_over(keys, id, at), outbox::put(&self.db.table, &event)?])
    }

    /// The leg cannot read on: retried for a passing failure, the job failed for the file's own.
    fn stopped(
        &self,
        keys: &TenantKeys,
        id: &str,
        at: Checkpoint,
        e: FileError,
    ) -> Result<Vec<TransactWriteItem>, HandlerError> {
        match e {
            FileError::Unavailable(why) => Err(HandlerError::Retry(why)),
            FileError::Missing => Ok(vec![self.fail(keys, id, at, "The file is no longer there.")]),
            FileError::Unreadable(why) => Ok(vec![self.fail(keys, id, at, &why)]),
        }
    }

    fn job_update(
        &self,
        keys: &TenantKeys,
        id: &str,
        at: Checkpoint,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.db.table)
            .key("pk", s(jobs::pk(keys, id)))
            .key("sk", s("JOB"))
            .condition_expression("cp_leg = :leg AND cp_row = :row")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":leg", n(at.leg))
            .expression_attribute_values(":row", n(at.row))
            .expression_attribute_values(":now", s(Utc::now().to_rfc3339()))
    }

    fn hand_over(&self, keys: &TenantKeys, id: &str, at: Checkpoint) -> TransactWriteItem {
        let update = self
            .job_update(keys, id, at)
            .update_expression("SET cp_leg = :next, #state = :running, updated_at = :now")
            .expression_attribute_values(":next", n(at.leg + 1))
            .expression_attribute_values(":running", s("running"))
            .build()
            .expect("table, key and expressions are set");
        TransactWriteItem::builder().update(update).build()
    }

    fn finish(&self, keys: &TenantKeys, id: &str, at: Checkpoint, now: chrono::DateTime<Utc>) -> TransactWriteItem {
        let update = self
            .job_update(keys, id, at)
            .update_expression("SET #state = :done, updated_at = :now, finished_at = :finished")
            .expression_attribute_values(":done", s("succeeded"))
            .expression_attribute_values(":finished", s(now.to_rfc3339()))
            .build()
            .expect("table, key and expressions are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// The job failed for a reason the file gives (rows before it stay imported).
    fn fail(&self, keys: &TenantKeys, id: &str, at: Checkpoint, why: &str) -> TransactWriteItem {
        tracing::info!(import_id = %id, rows = at.row, "import stopped: the file cannot be read on");
        let update = self
            .job_update(keys, id, at)
            .update_expression("SET #state = :failed, updated_at = :now, #error = :why")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":why", s(why))
            .build()
            .expect("table, key and expressions are set");
        TransactWriteItem::builder().update(update).build()
    }
}

fn finished(job: &jobs::Job) -> bool {
    matches!(job.state, jobs::JobState::Succeeded | jobs::JobState::Failed)
}

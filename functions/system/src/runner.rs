//! The system jobs consumer: carries out redrives operators asked for, a chunk at a time, so no
//! single invocation runs long whatever the dead-letter queue holds. Each chunk's progress commits
//! with the event that asks for the next chunk, so the job moves on exactly once per chunk.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::Utc;
use keel_events::{DomainEvent, Envelope, RedriveRequested};
use keel_store::jobs::{self, JobState};
use keel_store::{outbox, Db, TenantKeys};
use keel_worker::{Consumer, HandlerError};

use crate::queues::Queues;

/// Messages moved per event: two SQS calls each, well inside the function's 10 s timeout (a
/// longer timeout would lengthen the event feed's settle window for every tenant).
pub const CHUNK: usize = 50;

pub struct RedriveRunner {
    pub db: Db,
    pub sqs: aws_sdk_sqs::Client,
    pub queues: Queues,
}

impl Consumer for RedriveRunner {
    fn name(&self) -> &'static str {
        "system-jobs"
    }

    async fn handle(&self, event: &Envelope) -> Result<Vec<TransactWriteItem>, HandlerError> {
        if event.detail_type != RedriveRequested::DETAIL_TYPE {
            return Ok(Vec::new());
        }
        let request: RedriveRequested = serde_json::from_value(event.detail.clone())
            .map_err(|e| HandlerError::Refuse(format!("RedriveRequested unreadable: {e}")))?;
        let platform = TenantKeys::platform();
        if event.tenant_id != keel_store::PLATFORM_TENANT {
            return Err(HandlerError::Refuse("a redrive is the platform's, not a company's".into()));
        }
        let Some((url, dlq)) = self.queues.by_name.get(&request.queue) else {
            let failed = jobs::advance(&self.db.table, &platform, &request.job_id, "moved", 0, JobState::Failed);
            tracing::error!(queue = %request.queue, "redrive of a queue this deployment does not have");
            return Ok(vec![failed]);
        };
        let moved = keel_worker::redrive::redrive(&self.sqs, dlq, url, CHUNK).await.map_err(HandlerError::Retry)?;
        // A full chunk may have left more behind: ask for the next one in the same transaction.
        let more = moved == CHUNK;
        let state = if more { JobState::Running } else { JobState::Succeeded };
        let mut writes = vec![jobs::advance(&self.db.table, &platform, &request.job_id, "moved", moved as u64, state)];
        if more {
            let next = Envelope::new(keel_store::PLATFORM_TENANT, event.actor.clone(), Utc::now(), &request);
            writes.push(outbox::put(&self.db.table, &next)?);
        }
        tracing::info!(queue = %request.queue, job_id = %request.job_id, moved, more, "redrive chunk done");
        Ok(writes)
    }
}

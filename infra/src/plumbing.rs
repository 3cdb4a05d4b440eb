//! What Lambda's event source mappings do in AWS, done locally: poll the table's stream and hand
//! records to the relay in Lambda's event shape, and poll each consumer queue and hand messages
//! to the consumer's harness, deleting what was acknowledged.
//!
//! moto runs the EventBridge rules (bus → queue), so the routing tested is template.yaml's.
//! One difference from Lambda, on purpose: a failed message becomes visible again after 1 s
//! instead of the queue's visibility timeout, so local retries and dead-lettering take seconds.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use keel_function::{Runtime, Trigger};
use serde_json::{json, Value};

use crate::local_template::{self, passes};
use crate::registry;

const IDLE: Duration = Duration::from_millis(100);
const LOCAL_RETRY_VISIBILITY_SECONDS: i32 = 1;

/// Polls a table stream and delivers batches in order, redelivering from the first failed record
/// as Lambda does with `ReportBatchItemFailures`.
pub struct StreamPoller {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// shard id → next iterator (None once the shard is closed and drained)
    iterators: HashMap<String, Option<String>>,
    /// Records handed out but not acknowledged yet, oldest first.
    pending: Vec<EventRecord>,
    /// The event source's FilterCriteria: records that match none are dropped, as Lambda does.
    filters: Vec<Value>,
    /// MaximumRetryAttempts and where a batch goes after them, as Lambda does it.
    retries: StreamRetries,
    /// The record that failed last and how often in a row.
    failing: Option<(String, i64)>,
}

/// A stream source's bounded retries: after `max_retries` failed retries of a record, the batch
/// from it is given up and its position sent to the on-failure queue.
pub struct StreamRetries {
    /// -1: retry until the record expires.
    pub max_retries: i64,
    pub on_failure: Option<(aws_sdk_sqs::Client, String)>,
}

impl StreamPoller {
    pub async fn new(
        client: aws_sdk_dynamodbstreams::Client,
        table_stream_arn: String,
        filters: Vec<Value>,
        retries: StreamRetries,
    ) -> StreamPoller {
        StreamPoller {
            client,
            stream_arn: table_stream_arn,
            iterators: HashMap::new(),
            pending: Vec::new(),
            filters,
            retries,
            failing: None,
        }
    }

    /// Counts a failure of the record at `i` of the batch `..take`; once it has used up its
    /// retries, the batch from it is given up (sent to the on-failure queue) and true returned.
    async fn give_up(&mut self, i: usize, take: usize) -> bool {
        let seq = self.pending[i].change.sequence_number.clone().unwrap_or_default();
        let failures = match &self.failing {
            Some((s, n)) if *s == seq => n + 1,
            _ => 1,
        };
        self.failing = Some((seq.clone(), failures));
        if self.retries.max_retries < 0 || failures <= self.retries.max_retries {
            return false;
        }
        let last = self.pending[take - 1].change.sequence_number.clone().unwrap_or_default();
        tracing::error!(first = %seq, last = %last, "stream batch given up after its retries");
        if let Some((sqs, url)) = &self.retries.on_failure {
            let body = json!({
                "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": failures},
                "DDBStreamBatchInfo": {
                    "streamArn": self.stream_arn,
                    "startSequenceNumber": seq,
                    "endSequenceNumber": last,
                    "batchSize": take - i,
                }
            });
            if let Err(e) = sqs.send_message().queue_url(url).message_body(body.to_string()).send().await {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "on-failure destination not reached");
            }
        }
        self.failing = None;
        true
    }

    async fn discover(&mut self) -> Result<(), String> {
        let out = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?;
        for shard in out.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default() {
            let Some(id) = shard.shard_id else { continue };
            if self.iterators.contains_key(&id) {
                continue;
            }
            let it = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?;
            self.iterators.insert(id, it.shard_iterator);
        }
        Ok(())
    }

    /// Fetches what is new into `pending`.
    async fn fetch(&mut self) -> Result<(), String> {
        self.discover().await?;
        let shards: Vec<(String, String)> =
            self.iterators.iter().filter_map(|(id, it)| it.clone().map(|it| (id.clone(), it))).collect();
        for (shard, iterator) in shards {
            let out = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(1000)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?;
            self.iterators.insert(shard, out.next_shard_iterator);
            for record in out.records.unwrap_or_default() {
                let record = lambda_record(&self.stream_arn, record)?;
                if passes(&self.filters, &record) {
                    self.pending.push(serde_json::from_value(record).map_err(|e| format!("stream record shape: {e}"))?);
                }
            }
        }
        Ok(())
    }

    /// One round: fetch, deliver pending records (≤ `batch` at a time) to `handler`, keep what
    /// it handed back. Returns how many records were acknowledged.
    pub async fn poll<F, Fut>(&mut self, batch: usize, handler: F) -> Result<usize, String>
    where
        F: Fn(StreamEvent) -> Fut,
        Fut: Future<Output = aws_lambda_events::event::streams::DynamoDbEventResponse>,
    {
        self.fetch().await?;
        let mut acknowledged = 0;
        while !self.pending.is_empty() {
            let take = self.pending.len().min(batch);
            let mut event = StreamEvent::default();
            event.records = self.pending[..take].to_vec();
            let response = handler(event).await;
            let failed_at = response
                .batch_item_failures
                .iter()
                .filter_map(|f| f.item_identifier.clone())
                .filter_map(|seq| {
                    self.pending[..take].iter().position(|r| r.change.sequence_number.as_deref() == Some(&seq))
                })
                .min();
            match failed_at {
                None => {
                    self.pending.drain(..take);
                    acknowledged += take;
                }
                Some(i) if self.give_up(i, take).await => {
                    // Retries used up: the batch is given up from the failed record, as Lambda does.
                    self.pending.drain(..take);
                    acknowledged += i;
                }
                Some(i) => {
                    // Redeliver from the failed record next round, as Lambda would.
                    self.pending.drain(..i);
                    acknowledged += i;
                    break;
                }
            }
        }
        Ok(acknowledged)
    }
}

/// The stream record as Lambda's DynamoDB event carries it (JSON, as filters see it).
fn lambda_record(stream_arn: &str, record: aws_sdk_dynamodbstreams::types::Record) -> Result<Value, String> {
    let change = record.dynamodb.ok_or("stream record without its change")?;
    let image = |m: Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| -> Value {
        let item: serde_dynamo::Item = m.unwrap_or_default().into();
        serde_json::to_value(item).unwrap_or(Value::Null)
    };
    let value = json!({
        "eventID": record.event_id,
        "eventName": record.event_name.map(|n| n.as_str().to_string()),
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": change.approximate_creation_date_time.map(|t| t.secs()).unwrap_or_default(),
            "Keys": image(change.keys),
            "NewImage": image(change.new_image),
            "OldImage": image(change.old_image),
            "SequenceNumber": change.sequence_number,
            "SizeBytes": change.size_bytes.unwrap_or_default(),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    });
    Ok(value)
}

/// Polls one queue and feeds a consumer, as an SQS event source mapping would.
pub struct QueuePoller {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    /// The event source's BatchSize (one receive takes at most 10).
    pub batch_size: usize,
}

impl QueuePoller {
    /// One receive (long poll up to `wait`), one handler call. Returns messages acknowledged.
    pub async fn poll<F, Fut>(&self, wait: Duration, handler: F) -> Result<usize, String>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(self.batch_size.clamp(1, 10) as i32)
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(0);
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: HashMap<String, String> = m
                    .attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect();
                json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "md5OfBody": m.md5_of_body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.url,
                    "awsRegion": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
                })
            })
            .collect();
        let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).map_err(|e| e.to_string())?;
        let response = handler(event).await;
        let failed: Vec<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        let mut done = Vec::new();
        for m in &messages {
            let (Some(id), Some(handle)) = (&m.message_id, &m.receipt_handle) else { continue };
            if failed.contains(id) {
                let retry = self
                    .client
                    .change_message_visibility()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .visibility_timeout(LOCAL_RETRY_VISIBILITY_SECONDS)
                    .send()
                    .await;
                if let Err(e) = retry {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "queue poller could not reschedule a message");
                }
            } else {
                let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(done.len().to_string())
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| e.to_string())?;
                done.push(entry);
            }
        }
        let acknowledged = done.len();
        if !done.is_empty() {
            // One call for the batch, as Lambda deletes acknowledged messages.
            self.client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
        }
        Ok(acknowledged)
    }
}

/// After a polling round: rest when there was nothing to do, log and back off on failure.
async fn settle(name: &'static str, round: Result<usize, String>) {
    match round {
        Ok(0) => tokio::time::sleep(IDLE).await,
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(poller = name, error = %e, "poll failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Starts every event source template.yaml gives the registry's functions: the table stream into
/// each stream function, each consumer queue into its consumer, with the template's batch sizes
/// and filters. Runs until the process ends or the handles are aborted.
pub async fn start() -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let local = local_template::load()?;
    let sdk = keel_store::aws::sdk_config().await;
    let db = keel_store::Db::from_env().await?;
    let table = db.client.describe_table().table_name(&db.table).send().await.map_err(|e| e.to_string())?;
    let stream_arn = table.table.and_then(|t| t.latest_stream_arn).ok_or("the table has no stream")?;

    let mut tasks = Vec::new();
    for function in registry::functions() {
        let name = function.logical_id;
        let described = local.get(name).ok_or_else(|| format!("{name} is declared but not in template.yaml"))?;
        match function.trigger {
            Trigger::Http { .. } => {}
            Trigger::Stream { handler } => {
                for source in &described.streams {
                    let handler = handler(Runtime::new(name).await).await?;
                    let filters = source
                        .filters
                        .iter()
                        .map(|f| serde_json::from_str(f).map_err(|e| format!("{name} FilterCriteria: {e}")))
                        .collect::<Result<Vec<Value>, String>>()?;
                    let client = aws_sdk_dynamodbstreams::Client::new(&sdk);
                    let retries = StreamRetries {
                        max_retries: source.max_retries,
                        on_failure: source.on_failure.clone().map(|url| (aws_sdk_sqs::Client::new(&sdk), url)),
                    };
                    let mut stream = StreamPoller::new(client, stream_arn.clone(), filters, retries).await;
                    let batch = source.batch_size;
                    tasks.push(tokio::spawn(async move {
                        loop {
                            let round = stream.poll(batch, |event| handler(event)).await;
                            settle(name, round).await;
                        }
                    }));
                }
            }
            Trigger::Schedule { .. } => {}
            Trigger::Queue { handler, .. } => {
                for source in &described.queues {
                    let handler = handler(Runtime::new(name).await).await?;
                    let client = aws_sdk_sqs::Client::new(&sdk);
                    let poller = QueuePoller { client, url: source.url.clone(), batch_size: source.batch_size };
                    tasks.push(tokio::spawn(async move {
                        loop {
                            let round = poller.poll(Duration::from_secs(1), |event| handler(event)).await;
                            settle(name, round).await;
                        }
                    }));
                }
            }
        }
    }
    Ok(tasks)
}

/// Runs each scheduled function on a short period with the real clock, as its schedule would in
/// AWS (`KEEL_SCHEDULE_SECONDS`, default 5; 0 runs none).
pub async fn schedules() -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let period: u64 = std::env::var("KEEL_SCHEDULE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut tasks = Vec::new();
    if period == 0 {
        return Ok(tasks);
    }
    for function in registry::functions() {
        let Trigger::Schedule { handler, .. } = function.trigger else { continue };
        let name = function.logical_id;
        let handler = handler(Runtime::new(name).await).await?;
        tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(period));
            loop {
                every.tick().await;
                if let Err(e) = handler(chrono::Utc::now()).await {
                    tracing::warn!(function = name, error = %e, "scheduled run failed");
                }
            }
        }));
    }
    Ok(tasks)
}

//! A function (one Lambda) is declared once: its logical id in template.yaml, what triggers it
//! (HTTP routes with their OpenAPI description, a consumer queue, the table stream) and the AWS
//! calls it makes. The Lambda entrypoint, the dev server, the local event plumbing, the OpenAPI
//! document and the template conformance check all read the same declaration.

mod calls;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use chrono::{DateTime, Utc};
use keel_http::page::CursorKeys;
use keel_http::state::TokenSettings;
use keel_http::{telemetry, with_edge, AppState};
use keel_store::{Db, RequestCounter};
use utoipa::openapi::OpenApi;

pub use calls::CallRecorder;
pub use lambda_runtime::Error;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// A batch handler as Lambda calls it: the whole event in, the partial-failure answer out.
pub type BatchHandler<E, R> = Arc<dyn Fn(E) -> BoxFuture<R> + Send + Sync>;
pub type QueueHandler = BatchHandler<SqsEvent, SqsBatchResponse>;
pub type StreamHandler = BatchHandler<StreamEvent, DynamoDbEventResponse>;
/// A scheduled run: the time it runs at in, a summary of what it did out. Tests and the dev
/// server call it with a clock of their own.
pub type ScheduleHandler = Arc<dyn Fn(DateTime<Utc>) -> BoxFuture<Result<serde_json::Value, String>> + Send + Sync>;

/// The queue handler of a consumer: each message of a batch through the harness (claim, handle,
/// complete in one transaction; partial batch failures).
pub fn consumer<C: keel_worker::Consumer + 'static>(db: Db, consumer: C) -> QueueHandler {
    let harness = Arc::new(keel_worker::Harness::new(db, consumer));
    Arc::new(move |event| {
        let harness = harness.clone();
        Box::pin(async move { harness.handle_batch(event).await })
    })
}

/// One Lambda function.
pub struct Function {
    /// Its logical id in template.yaml (`LeadsFunction`).
    pub logical_id: &'static str,
    pub trigger: Trigger,
    /// The IAM actions it needs (`dynamodb:GetItem`, …): its policy in template.yaml must grant
    /// exactly these, and the test suite must see it use each of them.
    pub aws_calls: &'static [&'static str],
    /// Whether it writes domain events (the feed's settle window must outlast its timeout).
    pub writes_events: bool,
}

pub enum Trigger {
    /// HTTP routes behind the HTTP API.
    Http { openapi: fn() -> OpenApi, app: fn(Runtime) -> BoxFuture<Result<axum::Router, String>> },
    /// An SQS consumer: its queue's logical id and the event sources and types its rule routes to it.
    Queue {
        queue: &'static str,
        sources: &'static [&'static str],
        detail_types: &'static [&'static str],
        handler: fn(Runtime) -> BoxFuture<Result<QueueHandler, String>>,
    },
    /// The table's stream.
    Stream { handler: fn(Runtime) -> BoxFuture<Result<StreamHandler, String>> },
    /// A schedule (`rate(1 minute)`): an EventBridge schedule in AWS, a timer in the dev server.
    /// `feeds` names the queues it sends work to directly (each given in `KEEL_DUE_QUEUE_*`).
    Schedule {
        expression: &'static str,
        feeds: &'static [&'static str],
        handler: fn(Runtime) -> BoxFuture<Result<ScheduleHandler, String>>,
    },
}

/// What a function is built from: the AWS configuration, with every client it makes recording
/// its calls under the function's name (for the conformance check) and counting DynamoDB requests.
#[derive(Clone)]
pub struct Runtime {
    pub function: &'static str,
    pub sdk: aws_config::SdkConfig,
    pub requests: RequestCounter,
}

impl Runtime {
    pub async fn new(function: &'static str) -> Runtime {
        Runtime::with_counter(function, RequestCounter::default()).await
    }

    /// Several functions counting into one counter (the dev gateway in tests).
    pub async fn with_counter(function: &'static str, requests: RequestCounter) -> Runtime {
        Runtime { function, sdk: keel_store::aws::sdk_config().await, requests }
    }

    pub fn db(&self) -> Result<Db, String> {
        let table = std::env::var("KEEL_TABLE").map_err(|_| "KEEL_TABLE is not set".to_string())?;
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .interceptor(self.requests.clone())
            .interceptor(CallRecorder::new(self.function, "dynamodb"))
            .build();
        Ok(Db { client: aws_sdk_dynamodb::Client::from_conf(config), table, requests: self.requests.clone() })
    }

    pub fn app_state(&self) -> Result<AppState, String> {
        let tokens = TokenSettings::from_env()?;
        let mut state = AppState::new(self.db()?, &tokens)?;
        // Secrets are read through this function's own (recorded) client.
        state.cursors = Arc::new(CursorKeys::new(tokens.cursor_secret.cached(Some(self.secretsmanager()))));
        Ok(state)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
            .interceptor(CallRecorder::new(self.function, "secretsmanager"))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let config =
            aws_sdk_sqs::config::Builder::from(&self.sdk).interceptor(CallRecorder::new(self.function, "sqs")).build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    pub fn ses(&self) -> aws_sdk_sesv2::Client {
        let config = aws_sdk_sesv2::config::Builder::from(&self.sdk)
            .interceptor(CallRecorder::new(self.function, "ses"))
            .build();
        aws_sdk_sesv2::Client::from_conf(config)
    }

    /// The S3 client. Against a local endpoint (moto) buckets are addressed by path, since
    /// `<bucket>.127.0.0.1` names no host.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let local = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(local)
            .interceptor(CallRecorder::new(self.function, "s3"))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        let config = aws_sdk_eventbridge::config::Builder::from(&self.sdk)
            .interceptor(CallRecorder::new(self.function, "events"))
            .build();
        aws_sdk_eventbridge::Client::from_conf(config)
    }
}

/// The Lambda entrypoint of a function: builds it once, then serves its trigger's events.
pub async fn run(function: Function) -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let runtime = Runtime::new(function.logical_id).await;
    match function.trigger {
        Trigger::Http { app, .. } => lambda_http::run(with_edge(app(runtime).await?)).await,
        Trigger::Queue { handler, .. } => {
            let handler = handler(runtime).await?;
            lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
                let handler = handler.clone();
                async move { Ok::<_, lambda_runtime::Error>(handler(event.payload).await) }
            }))
            .await
        }
        Trigger::Stream { handler } => {
            let handler = handler(runtime).await?;
            lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<StreamEvent>| {
                let handler = handler.clone();
                async move { Ok::<_, lambda_runtime::Error>(handler(event.payload).await) }
            }))
            .await
        }
        Trigger::Schedule { handler, .. } => {
            let handler = handler(runtime).await?;
            lambda_runtime::run(lambda_runtime::service_fn(move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
                let handler = handler.clone();
                // The run's own clock, not the event's: a retried invocation sees what is due now.
                async move { handler(Utc::now()).await.map_err(lambda_runtime::Error::from) }
            }))
            .await
        }
    }
}

//! The dashboard counters consumer Lambda (SQS, ReportBatchItemFailures).

use aws_lambda_events::event::sqs::SqsEvent;
use keel_dashboard::DashboardCounters;
use keel_http::telemetry;
use keel_store::Db;
use keel_worker::Harness;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let db = Db::from_env().await?;
    let harness = Harness::new(db.clone(), DashboardCounters { db });
    let harness = &harness;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(harness.handle_batch(event.payload).await)
    }))
    .await
}

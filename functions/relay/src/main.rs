//! The relay Lambda, triggered by the table's stream (ReportBatchItemFailures).

use aws_lambda_events::event::dynamodb::Event;
use keel_http::telemetry;
use keel_relay::Relay;
use keel_store::Db;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let db = Db::from_env().await?;
    let bus = std::env::var("KEEL_EVENT_BUS").map_err(|_| "KEEL_EVENT_BUS is not set")?;
    let sdk = keel_store::aws::sdk_config().await;
    let relay = Relay::new(db, aws_sdk_eventbridge::Client::new(&sdk), bus);
    let relay = &relay;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(relay.handle(event.payload).await)
    }))
    .await
}

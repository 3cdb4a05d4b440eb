//! The outbox relay Lambda, triggered by the table stream (ReportBatchItemFailures).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_relay::function()).await
}

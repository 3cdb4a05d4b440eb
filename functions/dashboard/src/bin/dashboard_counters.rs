//! The dashboard counters consumer Lambda (SQS, ReportBatchItemFailures).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_dashboard::counters_function()).await
}

//! The system jobs consumer Lambda (SQS, ReportBatchItemFailures).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_system::jobs_function()).await
}

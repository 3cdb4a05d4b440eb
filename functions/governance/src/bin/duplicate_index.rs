//! The duplicate index consumer Lambda (SQS, ReportBatchItemFailures).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_governance::duplicate_index_function()).await
}

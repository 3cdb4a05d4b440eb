//! The import Lambda (SQS, ReportBatchItemFailures): started imports, a leg at a time.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_capture::import_function()).await
}

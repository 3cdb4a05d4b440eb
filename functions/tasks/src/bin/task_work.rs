//! The task work Lambda (SQS, ReportBatchItemFailures): escalations the scheduler handed off.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_tasks::work_function()).await
}

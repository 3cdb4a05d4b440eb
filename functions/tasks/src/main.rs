//! The tasks Lambda (tasks, escalation policy, statistics, notifications).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_tasks::function()).await
}

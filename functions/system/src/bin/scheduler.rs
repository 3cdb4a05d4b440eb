//! The scheduler Lambda (a schedule rule, every minute): due work to its queues.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_system::scheduler_function()).await
}

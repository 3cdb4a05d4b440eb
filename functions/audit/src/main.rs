//! The audit trail API Lambda.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_audit::function()).await
}

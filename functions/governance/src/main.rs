//! The governance Lambda (the consent ledger, unsubscribe links).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_governance::function()).await
}

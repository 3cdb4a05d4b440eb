//! The system status Lambda.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_system::function()).await
}

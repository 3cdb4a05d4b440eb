//! The customers Lambda (accounts and contacts).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_customers::function()).await
}

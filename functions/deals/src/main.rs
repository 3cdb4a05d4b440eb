//! The deals Lambda (opportunities, pipelines, board, forecast, quotas, trends).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_deals::function()).await
}

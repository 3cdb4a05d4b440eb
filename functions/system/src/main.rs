//! The system status API Lambda.

use keel_http::{telemetry, with_edge, AppState};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AppState::from_env().await.map_err(lambda_http::Error::from)?;
    let sqs = aws_sdk_sqs::Client::new(&keel_store::aws::sdk_config().await);
    lambda_http::run(with_edge(keel_system::router(state, sqs))).await
}

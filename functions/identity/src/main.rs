//! The identity API Lambda.

use keel_http::state::TokenSettings;
use keel_http::{telemetry, with_edge, AppState};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let state = AppState::from_env().await.map_err(lambda_http::Error::from)?;
    let issuer = TokenSettings::from_env().and_then(|t| t.issuer()).map_err(lambda_http::Error::from)?;
    lambda_http::run(with_edge(keel_identity::router(state, issuer))).await
}

//! `GET /api/health`: 200 once DynamoDB Local and moto answer, 503 until then.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keel_http::AppState;
use serde_json::{json, Value};

pub async fn health(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let table = app.db.client.describe_table().table_name(&app.db.table).send().await.is_ok();
    let moto = match std::env::var("AWS_ENDPOINT_URL_SQS") {
        Ok(url) => reachable(&url).await,
        Err(_) => false,
    };
    let status = if table && moto { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |ok: bool| if ok { "up" } else { "down" };
    (status, Json(json!({"status": word(table && moto), "dynamodb": word(table), "messaging": word(moto)})))
}

/// A TCP connect to the endpoint's host:port: enough to know the server is listening.
async fn reachable(url: &str) -> bool {
    let authority =
        url.trim_start_matches("http://").trim_start_matches("https://").split('/').next().unwrap_or_default();
    matches!(tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(authority)).await, Ok(Ok(_)))
}

//! A minimal local Lambda Runtime API: hands one event to a freshly started function binary and
//! reports when its response arrives, so init + first invocation can be timed without AWS.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, Mutex};

struct Runtime {
    event: String,
    handed_out: Mutex<Option<Instant>>,
    done: mpsc::Sender<Result<String, String>>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> (HeaderMap, String) {
    let first = {
        let mut handed = rt.handed_out.lock().await;
        let first = handed.is_none();
        handed.get_or_insert_with(Instant::now);
        first
    };
    if !first {
        // Only one invocation per start: park the runtime's next poll until the process is killed.
        std::future::pending::<()>().await;
    }
    let mut h = HeaderMap::new();
    h.insert("lambda-runtime-aws-request-id", HeaderValue::from_static("bench-1"));
    h.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&(chrono::Utc::now().timestamp_millis() + 30_000).to_string()).unwrap(),
    );
    h.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    h.insert("lambda-runtime-trace-id", HeaderValue::from_static("Root=1-00000000-000000000000000000000000"));
    (h, rt.event.clone())
}

async fn response(State(rt): State<Arc<Runtime>>, Path(_id): Path<String>, body: String) -> &'static str {
    let _ = rt.done.send(Ok(body)).await;
    "{}"
}

async fn error(State(rt): State<Arc<Runtime>>, body: String) -> &'static str {
    let _ = rt.done.send(Err(body)).await;
    "{}"
}

/// Time from spawning a function binary to its first poll for work and to its first answer.
pub struct Timing {
    pub ready: Duration,
    pub served: Duration,
    pub body: String,
}

/// Starts `binary` and serves it `event`.
pub async fn time_first_invocation(binary: &str, event: &str) -> Result<Timing, String> {
    let (tx, mut rx) = mpsc::channel(1);
    let rt = Arc::new(Runtime { event: event.to_string(), handed_out: Mutex::new(None), done: tx });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{binary}: {e}"))?;
    let outcome = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
    let elapsed = started.elapsed();
    let _ = child.kill().await;
    server.abort();
    match outcome {
        Ok(Some(Ok(body))) => {
            let polled = rt.handed_out.lock().await.expect("polled before answering");
            Ok(Timing { ready: polled - started, served: elapsed, body })
        }
        Ok(Some(Err(e))) => Err(format!("{binary} reported an error: {e}")),
        _ => Err(format!("{binary} did not answer within 30 s")),
    }
}

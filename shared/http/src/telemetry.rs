//! Structured JSON logs for every entrypoint. Level from `RUST_LOG` (default `info`).
//!
//! The AWS SDK and HTTP client crates are capped at `info` whatever `RUST_LOG` says: at `debug`
//! and below they log request and response bodies, which hold customers' personal data.

use tracing_subscriber::EnvFilter;

/// Crates whose verbose logs carry payloads.
const PAYLOAD_LOGGING_CRATES: [&str; 9] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_runtime",
    "aws_config",
    "aws_sdk_dynamodb",
    "aws_sdk_sqs",
    "aws_sdk_eventbridge",
    "hyper_util",
];

/// The filter every Keel process uses: `directives` (or `RUST_LOG`, or `info`) with the
/// payload-logging crates capped.
pub fn filter(directives: Option<&str>) -> EnvFilter {
    let base = match directives {
        Some(d) => EnvFilter::new(d),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    PAYLOAD_LOGGING_CRATES
        .iter()
        .fold(base, |f, krate| f.add_directive(format!("{krate}=info").parse().expect("valid directive")))
}

pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(None))
        .with_current_span(true)
        .with_span_list(false)
        .without_time() // Lambda and the dev console stamp lines themselves
        .try_init();
}

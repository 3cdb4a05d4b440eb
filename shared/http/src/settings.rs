//! The deployment's settings, read from the environment once when a function starts (template.yaml
//! sets them; the local stack exports the same names) into one typed value: a missing or malformed
//! setting stops the function at start, not a request at random later.

use std::time::Duration;

/// How far behind now the event feed stays unless configured: the longest function timeout + 5 s
/// (the conformance check holds template.yaml's value to the same rule).
pub const DEFAULT_FEED_SETTLE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Settings {
    /// `KEEL_STAGE`: local, dev, prod.
    pub stage: String,
    /// `AWS_REGION`.
    pub region: String,
    /// `KEEL_TABLE`.
    pub table: String,
    /// `KEEL_EVENT_BUS`.
    pub event_bus: String,
    /// `KEEL_FEED_SETTLE_SECONDS`: the feed serves events only this much older than now, so one
    /// committed late by a slow request is never skipped.
    pub feed_settle: Duration,
    /// `KEEL_COMMIT` (set at build or deploy), for the system status.
    pub commit: String,
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let feed_settle = match std::env::var("KEEL_FEED_SETTLE_SECONDS") {
            Ok(v) => Duration::from_secs(
                v.parse().map_err(|_| format!("KEEL_FEED_SETTLE_SECONDS must be whole seconds, not {v:?}"))?,
            ),
            Err(_) => DEFAULT_FEED_SETTLE,
        };
        Ok(Settings {
            stage: var("KEEL_STAGE")?,
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "unknown".into()),
            table: var("KEEL_TABLE")?,
            event_bus: var("KEEL_EVENT_BUS")?,
            feed_settle,
            commit: option_env!("KEEL_COMMIT")
                .map(str::to_string)
                .or_else(|| std::env::var("KEEL_COMMIT").ok())
                .unwrap_or_else(|| "unknown".into()),
        })
    }
}

//! template.yaml as the local stack resolved it (`KEEL_LOCAL_FUNCTIONS`, written by
//! infra/stack/provision.py): each function's HTTP routes, event sources and timeout, with local
//! queue URLs. The dev server routes and the plumbing delivers from it, as AWS would from the
//! deployed template.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct LocalFunction {
    pub timeout: u64,
    pub http: Vec<HttpRoute>,
    pub queues: Vec<QueueSource>,
    pub streams: Vec<StreamSource>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpRoute {
    /// `GET`, `POST`, … or `ANY`.
    pub method: String,
    /// `/api/companies/{company_id}/leads`; `{proxy+}` matches the rest of the path.
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueueSource {
    pub queue: String,
    pub url: String,
    pub batch_size: usize,
    pub report_failures: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamSource {
    pub batch_size: usize,
    /// FilterCriteria patterns (EventBridge pattern syntax over the stream record).
    pub filters: Vec<String>,
    pub report_failures: bool,
    /// MaximumRetryAttempts (-1: until the record expires).
    pub max_retries: i64,
    /// The on-failure destination queue's URL.
    pub on_failure: Option<String>,
}

pub type LocalFunctions = BTreeMap<String, LocalFunction>;

pub fn load() -> Result<LocalFunctions, String> {
    let path = std::env::var("KEEL_LOCAL_FUNCTIONS").map_err(|_| {
        "KEEL_LOCAL_FUNCTIONS is not set: run inside the local stack (make run / make test)".to_string()
    })?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// Whether a stream record passes a function's FilterCriteria (any pattern matches; no patterns:
/// everything passes). Supports what Keel's template uses: nested objects and lists of exact values.
pub fn passes(filters: &[serde_json::Value], record: &serde_json::Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| matches(f, record))
}

fn matches(pattern: &serde_json::Value, value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| value.get(k).is_some_and(|v| matches(p, v))),
        Value::Array(allowed) => allowed.contains(value),
        other => other == value,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn filter_patterns_match_like_lambda() {
        let f = json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["event"]}}}});
        let insert =
            json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "event"}, "pk": {"S": "x"}}}});
        let modify = json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"entity": {"S": "event"}}}});
        let lead = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "lead"}}}});
        assert!(super::passes(std::slice::from_ref(&f), &insert));
        assert!(!super::passes(std::slice::from_ref(&f), &modify));
        assert!(!super::passes(std::slice::from_ref(&f), &lead));
        assert!(super::passes(&[], &lead));
    }
}

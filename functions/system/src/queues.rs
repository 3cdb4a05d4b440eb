//! The consumer queues this deployment has, from the environment: `KEEL_QUEUE_<NAME>_QUEUE` and
//! `KEEL_QUEUE_<NAME>_DLQ` (queue URLs; template.yaml sets them, the local stack exports them).

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName as A;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default)]
pub struct Queues {
    /// name (e.g. `dashboard-counters`) → (queue URL, DLQ URL)
    pub by_name: BTreeMap<String, (String, String)>,
}

impl Queues {
    pub fn from_env() -> Queues {
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        let mut by_name = BTreeMap::new();
        for (key, url) in &vars {
            let Some(stem) = key.strip_prefix("KEEL_QUEUE_").and_then(|k| k.strip_suffix("_QUEUE")) else { continue };
            if let Some(dlq) = vars.get(&format!("KEEL_QUEUE_{stem}_DLQ")) {
                by_name.insert(stem.to_lowercase().replace('_', "-"), (url.clone(), dlq.clone()));
            }
        }
        Queues { by_name }
    }
}

/// One consumer queue's state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackgroundQueue {
    pub name: String,
    /// Waiting to be processed.
    pub visible: u64,
    /// Being processed right now (or waiting out a failed attempt).
    pub in_flight: u64,
    /// Given up after the maximum receives; redrive them once the cause is fixed.
    pub dead_letters: u64,
}

pub async fn depths(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(u64, u64), String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    let attrs = out.attributes.unwrap_or_default();
    let get = |a: A| attrs.get(&a).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok((
        get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesDelayed),
        get(A::ApproximateNumberOfMessagesNotVisible),
    ))
}

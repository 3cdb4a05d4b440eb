//! What a consumer's queue receives: EventBridge's event with Keel's envelope as `detail`.

use serde::Deserialize;

use crate::Envelope;

#[derive(Debug, Clone, Deserialize)]
pub struct BusDelivery {
    /// EventBridge's own id (differs per put; the envelope's `event_id` is the stable one).
    pub id: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub detail: Envelope,
}

impl BusDelivery {
    pub fn parse(body: &str) -> Result<BusDelivery, String> {
        serde_json::from_str(body).map_err(|e| format!("not a Keel bus event: {e}"))
    }
}

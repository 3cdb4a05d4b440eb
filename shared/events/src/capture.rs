//! Capture's own work on the bus: a bulk import carried out a leg at a time, each leg asking for
//! the next in the transaction of its last rows, so no invocation runs long whatever the file.

use serde::{Deserialize, Serialize};

use crate::DomainEvent;

pub const SOURCE_CAPTURE: &str = "keel.capture";

/// Carry on with an import from its checkpoint: leg 0 when someone started it, then one leg per
/// invocation until the file ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequested {
    pub import_id: String,
    pub leg: u32,
}

impl DomainEvent for ImportRequested {
    const DETAIL_TYPE: &'static str = "ImportRequested";
    const SOURCE: &'static str = SOURCE_CAPTURE;
    const VERSION: u32 = 1;
}

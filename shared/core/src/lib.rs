//! Keel's domain core: the rules of the CRM, free of AWS and I/O.
//!
//! Everything here is pure so it can be tested in isolation and reused by every function.

pub mod contact_point;
pub mod field_error;
pub mod lead;
pub mod score;

pub use contact_point::{Email, Phone};
pub use field_error::{FieldError, FieldErrors};
pub use lead::{Lead, LeadDraft, LeadPatch, LeadStatus, NewLead};
pub use score::{lead_score, ScoreBand};

//! Keel's domain core: the rules of the CRM, free of AWS and I/O.
//!
//! Everything here is pure so it can be tested in isolation and reused by every function.

pub mod account;
pub mod activity;
pub mod automation;
pub mod consent;
pub mod contact;
pub mod contact_point;
pub mod conversion;
pub mod deal;
pub mod duplicates;
pub mod field_error;
pub mod forecast;
pub mod form;
pub mod governance;
pub mod import;
pub mod lead;
pub mod money;
pub mod opportunity;
pub mod pipeline;
pub mod qualification;
pub mod score;
pub mod task;

pub use contact_point::{Email, Phone};
pub use field_error::{FieldError, FieldErrors};
pub use lead::{Lead, LeadDraft, LeadPatch, LeadStatus, NewLead};
pub use money::Money;
pub use score::{lead_score, ScoreBand};

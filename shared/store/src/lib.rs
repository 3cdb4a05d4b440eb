//! Single-table DynamoDB access shared by every function: the table handle, tenant-first keys,
//! transactions with readable outcomes, the outbox, idempotency records, signed cursors and a
//! request counter that makes DynamoDB round trips per operation measurable.

pub mod audit;
pub mod aws;
pub mod consent;
pub mod counter;
pub mod crm;
pub mod cursor;
pub mod db;
pub mod due;
pub mod duplicates;
pub mod error;
pub mod governance;
pub mod idempotency;
pub mod index_page;
pub mod jobs;
pub mod keys;
pub mod leads;
pub mod lookup;
pub mod outbox;
pub mod range;
pub mod rate_limit;
pub mod relay_status;
pub mod revenue;
pub mod unit;
pub mod window_limit;

pub use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
pub use counter::RequestCounter;
pub use cursor::{CursorError, CursorSigner};
pub use db::Db;
pub use error::{CancelReason, StoreError};
pub use keys::{TenantKeys, PLATFORM_TENANT};
pub use range::SortKeyRange;
pub use unit::{Refusal, UnitOfWork, WriteError};

/// A DynamoDB item.
pub type Item = std::collections::HashMap<String, AttributeValue>;

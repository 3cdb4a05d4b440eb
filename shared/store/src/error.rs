use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::Item;

/// Why one item of a cancelled transaction failed.
#[derive(Debug, Clone)]
pub struct CancelReason {
    /// `ConditionalCheckFailed`, `TransactionConflict`, `None` (this item was fine), …
    pub code: String,
    /// The item as it was, when the request asked for it on a failed condition.
    pub item: Option<Item>,
}

impl CancelReason {
    pub fn condition_failed(&self) -> bool {
        self.code == "ConditionalCheckFailed"
    }
}

/// Store failures that callers act on. AWS error text stays in the logs, never in a response.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A transaction was cancelled; one reason per item, in request order. (Displayed without
    /// the items: they can hold personal data.)
    #[error("transaction cancelled")]
    Cancelled(Vec<CancelReason>),
    /// A single-item write's condition did not hold.
    #[error("condition failed")]
    ConditionFailed,
    /// Throttled or temporarily unavailable; safe to retry later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
    #[error("dynamodb: {0}")]
    Other(String),
}

impl StoreError {
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().unwrap_or_default().to_string();
        let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
        match code.as_str() {
            "ConditionalCheckFailedException" => StoreError::ConditionFailed,
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "TransactionInProgressException" => StoreError::Unavailable(text),
            _ if matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) => {
                StoreError::Unavailable(text)
            }
            _ => StoreError::Other(text),
        }
    }

    pub fn from_transact<R: std::fmt::Debug>(err: SdkError<TransactWriteItemsError, R>) -> StoreError {
        if let SdkError::ServiceError(ref service) = err {
            if let TransactWriteItemsError::TransactionCanceledException(cancel) = service.err() {
                let reasons = cancel
                    .cancellation_reasons()
                    .iter()
                    .map(|r| CancelReason { code: r.code().unwrap_or("None").to_string(), item: r.item().cloned() })
                    .collect::<Vec<_>>();
                // Only condition failures are the caller's business; a conflict with another
                // transaction is transient.
                if reasons.iter().any(CancelReason::condition_failed) {
                    return StoreError::Cancelled(reasons);
                }
                let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
                return StoreError::Unavailable(format!("transaction conflict: {codes:?}"));
            }
        }
        StoreError::from_sdk(err)
    }
}

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

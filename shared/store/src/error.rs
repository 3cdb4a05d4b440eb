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

/// What a DynamoDB error means to Keel, read from the SDK's typed error variants (never from
/// code strings or messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A conditional write's condition did not hold.
    ConditionFailed,
    /// Throttled, conflicting with another transaction, or a server-side failure: retry later.
    Transient,
    /// Anything else (a missing table, an invalid request): a bug or a misconfiguration.
    Other,
}

/// The DynamoDB operation errors Keel meets, classified by variant.
pub trait ClassifyError {
    fn class(&self) -> ErrorClass;
}

macro_rules! classify {
    ($error:ty { $($condition:ident)? } transient: $($transient:ident),+) => {
        impl ClassifyError for $error {
            fn class(&self) -> ErrorClass {
                type E = $error;
                match self {
                    $(E::$condition(_) => ErrorClass::ConditionFailed,)?
                    $(E::$transient(_))|+ => ErrorClass::Transient,
                    _ => ErrorClass::Other,
                }
            }
        }
    };
}

use aws_sdk_dynamodb::operation as op;
classify!(op::get_item::GetItemError {} transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException);
classify!(op::query::QueryError {} transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException);
classify!(op::batch_get_item::BatchGetItemError {} transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException);
classify!(op::batch_write_item::BatchWriteItemError {} transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException, ReplicatedWriteConflictException);
classify!(op::put_item::PutItemError { ConditionalCheckFailedException } transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException, TransactionConflictException, ReplicatedWriteConflictException);
classify!(op::update_item::UpdateItemError { ConditionalCheckFailedException } transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException, TransactionConflictException, ReplicatedWriteConflictException);
classify!(op::delete_item::DeleteItemError { ConditionalCheckFailedException } transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException, TransactionConflictException, ReplicatedWriteConflictException);
classify!(op::transact_write_items::TransactWriteItemsError {} transient: InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException, TransactionInProgressException);

impl StoreError {
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + ClassifyError + 'static,
        R: std::fmt::Debug,
    {
        let class = match &err {
            SdkError::ServiceError(service) => service.err().class(),
            // No answer, or an answer that could not be read: the request may be retried.
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                ErrorClass::Transient
            }
            _ => ErrorClass::Other,
        };
        let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
        match class {
            ErrorClass::ConditionFailed => StoreError::ConditionFailed,
            ErrorClass::Transient => StoreError::Unavailable(text),
            ErrorClass::Other => StoreError::Other(text),
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

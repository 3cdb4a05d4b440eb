//! The table handle every function shares: one client built once per process.

use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;

use crate::{AttributeValue, Item, RequestCounter, StoreError};

#[derive(Debug, Clone)]
pub struct Db {
    pub client: Client,
    pub table: String,
    pub requests: RequestCounter,
}

/// How often a transaction that lost a race with another transaction on the same items is tried
/// again before the caller is told to retry later.
const CONFLICT_ATTEMPTS: u32 = 4;

impl Db {
    /// Builds the client from the standard AWS configuration (`AWS_ENDPOINT_URL_DYNAMODB` points
    /// it at DynamoDB Local) and the table from `KEEL_TABLE`.
    pub async fn from_env() -> Result<Db, String> {
        let table = std::env::var("KEEL_TABLE").map_err(|_| "KEEL_TABLE is not set".to_string())?;
        let sdk = crate::aws::sdk_config().await;
        Ok(Db::with_config(&sdk, table))
    }

    pub fn with_config(sdk: &aws_config::SdkConfig, table: String) -> Db {
        let requests = RequestCounter::default();
        let config = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(requests.clone()).build();
        Db { client: Client::from_conf(config), table, requests }
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }

    pub async fn get_as<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> Result<Option<T>, StoreError> {
        self.get(pk, sk).await?.map(from_item).transpose()
    }

    /// One `TransactWriteItems`, retried here when it lost a race or its answer was lost. Every
    /// attempt carries the same `ClientRequestToken` (the caller's, or one made for this call), so
    /// an attempt that committed but timed out is answered as a success by the retry instead of
    /// failing its own conditions.
    pub async fn transact(&self, items: Vec<TransactWriteItem>, token: Option<String>) -> Result<(), StoreError> {
        let token = Some(token.unwrap_or_else(|| ulid::Ulid::new().to_string()));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .set_client_request_token(token.clone())
                .send()
                .await
                .map_err(StoreError::from_transact);
            match result {
                Err(StoreError::Unavailable(_)) if attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(20 * 2u64.pow(attempt))).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }
}

/// An item as a typed record.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A typed record as an item. Records are plain structs; a failure here is a programming error
/// surfaced as a store error rather than a panic.
pub fn to_item<T: serde::Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A transaction item that writes `item` only where nothing is yet (a new entity, marker or record).
pub fn put_new(table: &str, item: Item) -> aws_sdk_dynamodb::types::TransactWriteItem {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("table and item are set");
    aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build()
}

/// A transaction item that writes `item` whatever is there: for an item that moves with an entity
/// the same transaction guards (a summary copy, a consumer's own record).
pub fn put(table: &str, item: Item) -> aws_sdk_dynamodb::types::TransactWriteItem {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .expect("table and item are set");
    aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build()
}

/// A transaction item that removes an item, if it is there: for an item that moves with an entity
/// the same transaction guards.
pub fn delete(table: &str, pk: String, sk: String) -> aws_sdk_dynamodb::types::TransactWriteItem {
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .build()
        .expect("table and key are set");
    aws_sdk_dynamodb::types::TransactWriteItem::builder().delete(delete).build()
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

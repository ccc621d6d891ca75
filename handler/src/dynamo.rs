//! The DynamoDB `TransactionStore`: one conditional `UpdateItem` per event.
//!
//! Item layout (table keyed by `transactionId`, S):
//!
//! | attribute | type | value |
//! |---|---|---|
//! | `transactionId` | S | the id |
//! | `amount` | N | the exact canonical decimal (`amount.rs`) |
//! | `currency`, `status`, `provider` | S | as validated |
//! | `timestamp` | S | the event time as the sender wrote it |
//! | `eventOrder` | S | `Transaction::order_key`: decides which event wins |
//! | `createdAt`, `updatedAt` | S | when this function first / last wrote the record (UTC) |
//!
//! The write succeeds only if the record is absent, or was written without `eventOrder`
//! (an item from the seed's Python handler, adopted on first event), or holds an older
//! `eventOrder`. DynamoDB evaluates the condition and the write atomically, so of twenty
//! concurrent deliveries of one event exactly one succeeds. When the condition refuses,
//! `ReturnValuesOnConditionCheckFailure=ALL_OLD` returns the item it was checked against,
//! which tells `duplicate` from `stale` without a second call; `GetItem` is the fallback
//! should the item be missing from the error. Only `UpdateItem` and `GetItem` are used: the
//! role allows `PutItem`, `GetItem` and `UpdateItem`, nothing else.
//!
//! One known mislabel: if the SDK retries an `UpdateItem` whose first attempt was applied
//! but whose response was lost, the retry is refused and the event answers `duplicate`
//! instead of `recorded`. The record is right either way, and no two deliveries can both
//! answer `recorded`.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use chrono::{SecondsFormat, Utc};
use std::collections::HashMap;

use crate::store::{refused, Outcome, StoreError, TransactionStore};
use crate::transaction::Transaction;

const UPDATE: &str = "SET #amount = :amount, #currency = :currency, #status = :status, \
     #provider = :provider, #timestamp = :timestamp, #order = :order, \
     #updatedAt = :now, #createdAt = if_not_exists(#createdAt, :now)";

// `status` and `timestamp` are DynamoDB reserved words; every name goes through `#` for
// uniformity.
const CONDITION: &str =
    "attribute_not_exists(#id) OR attribute_not_exists(#order) OR #order < :order";

const NAMES: [(&str, &str); 9] = [
    ("#id", "transactionId"),
    ("#amount", "amount"),
    ("#currency", "currency"),
    ("#status", "status"),
    ("#provider", "provider"),
    ("#timestamp", "timestamp"),
    ("#order", "eventOrder"),
    ("#createdAt", "createdAt"),
    ("#updatedAt", "updatedAt"),
];

/// Records transactions in one table. Holds the SDK client built once per process.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// The stored order key, read after a refused write whose error carried no item.
    async fn stored_order(&self, id: &str) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("transactionId", AttributeValue::S(id.to_owned()))
            .projection_expression("#order")
            .expression_attribute_names("#order", "eventOrder")
            // Only a strongly consistent read is sure to see the write that caused the refusal.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", &e))?;
        Ok(output.item().and_then(order_of))
    }
}

impl TransactionStore for DynamoStore {
    async fn record(&self, tx: &Transaction) -> Result<Outcome, StoreError> {
        let order = tx.order_key();
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("transactionId", AttributeValue::S(tx.id.clone()))
            .update_expression(UPDATE)
            .condition_expression(CONDITION)
            .expression_attribute_values(
                ":amount",
                AttributeValue::N(tx.amount.as_str().to_owned()),
            )
            .expression_attribute_values(":currency", AttributeValue::S(tx.currency.to_owned()))
            .expression_attribute_values(
                ":status",
                AttributeValue::S(tx.status.as_str().to_owned()),
            )
            .expression_attribute_values(":provider", AttributeValue::S(tx.provider.clone()))
            .expression_attribute_values(
                ":timestamp",
                AttributeValue::S(tx.timestamp.original().to_owned()),
            )
            .expression_attribute_values(":order", AttributeValue::S(order.clone()))
            .expression_attribute_values(":now", AttributeValue::S(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (placeholder, name) in NAMES {
            request = request.expression_attribute_names(placeholder, name);
        }

        let error = match request.send().await {
            Ok(_) => return Ok(Outcome::Recorded),
            Err(error) => error,
        };
        let Some(UpdateItemError::ConditionalCheckFailedException(refusal)) =
            error.as_service_error()
        else {
            return Err(backend("UpdateItem", &error));
        };
        let stored = match refusal.item() {
            Some(item) => order_of(item),
            None => self.stored_order(&tx.id).await?,
        };
        match stored {
            Some(stored) => refused(&stored, &order),
            // The condition passes whenever `eventOrder` is missing, so a refusal without
            // one means the item is not a string where we expect one.
            None => Err(StoreError::Corrupt(
                "eventOrder is missing or not a string".into(),
            )),
        }
    }
}

fn order_of(item: &HashMap<String, AttributeValue>) -> Option<String> {
    item.get("eventOrder").and_then(|v| v.as_s().ok()).cloned()
}

fn backend<E, R>(operation: &'static str, error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = match error.as_service_error() {
        // The service's own code and message; DisplayErrorContext would add the whole raw
        // HTTP response, headers included.
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown service error"),
            service.message().unwrap_or("no message")
        ),
        // Timeouts, connection and dispatch failures: the source chain says what happened,
        // which the bare Display of SdkError ("dispatch failure") hides.
        None => DisplayErrorContext(error).to_string(),
    };
    StoreError::Backend { operation, message }
}

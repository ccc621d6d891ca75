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
//! The write succeeds only if the record is absent or holds an older `eventOrder`.
//! DynamoDB evaluates the condition and the write atomically, so of twenty concurrent
//! deliveries of one event exactly one succeeds.
//!
//! An item written by the seed's Python handler has no `eventOrder`. Its own fields are
//! compared instead (`legacy_order`: its `timestamp` as an instant, then its status' stage,
//! as for our events): an older event is `stale` and leaves it alone; a newer one replaces
//! it with a write conditioned on the legacy item being exactly what was compared (no
//! `eventOrder`, the same `timestamp`), retried from the start if someone wrote meanwhile. When the condition refuses,
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

use crate::status::Status;
use crate::store::{refused, Outcome, StoreError, TransactionStore};
use crate::timestamp::EventTime;
use crate::transaction::Transaction;

const UPDATE: &str = "SET #amount = :amount, #currency = :currency, #status = :status, \
     #provider = :provider, #timestamp = :timestamp, #order = :order, \
     #updatedAt = :now, #createdAt = if_not_exists(#createdAt, :now)";

// `status` and `timestamp` are DynamoDB reserved words; every name goes through `#` for
// uniformity.
const CONDITION: &str = "attribute_not_exists(#id) OR #order < :order";

/// Replaces a legacy item (no `eventOrder`) that was compared and found older: only if it
/// is still that item, with the timestamp and status that were compared.
fn legacy_condition(pinned: &Pinned) -> String {
    let pin = |placeholder: &str, name: &str, value: &Option<AttributeValue>| match value {
        Some(_) => format!("{name} = {placeholder}"),
        None => format!("attribute_not_exists({name})"),
    };
    format!(
        "attribute_exists(#id) AND attribute_not_exists(#order) AND {} AND {}",
        pin(":legacyTimestamp", "#timestamp", &pinned.timestamp),
        pin(":legacyStatus", "#status", &pinned.status)
    )
}

/// The legacy item's fields a replacing write is conditioned on, as stored (any type).
#[derive(Debug, Clone, Default)]
struct Pinned {
    timestamp: Option<AttributeValue>,
    status: Option<AttributeValue>,
}

/// How many times a write is tried when legacy items keep changing under it.
const ATTEMPTS: usize = 3;

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

    /// The stored item, read after a refused write whose error carried none.
    async fn stored_item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("transactionId", AttributeValue::S(id.to_owned()))
            // Only a strongly consistent read is sure to see the write that caused the refusal.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", &e))?;
        Ok(output.item().cloned())
    }

    /// One conditional write of `tx`; `Ok(None)` when written, `Ok(Some(item))` when the
    /// condition refused it (with the item it was checked against, if any).
    async fn write(
        &self,
        tx: &Transaction,
        order: &str,
        condition: &str,
        pinned: Option<&Pinned>,
    ) -> Result<Option<Option<Item>>, StoreError> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("transactionId", AttributeValue::S(tx.id.clone()))
            .update_expression(UPDATE)
            .condition_expression(condition)
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
            .expression_attribute_values(":order", AttributeValue::S(order.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(pinned) = pinned {
            if let Some(ts) = &pinned.timestamp {
                request = request.expression_attribute_values(":legacyTimestamp", ts.clone());
            }
            if let Some(status) = &pinned.status {
                request = request.expression_attribute_values(":legacyStatus", status.clone());
            }
        }
        for (placeholder, name) in NAMES {
            request = request.expression_attribute_names(placeholder, name);
        }
        let error = match request.send().await {
            Ok(_) => return Ok(None),
            Err(error) => error,
        };
        match error.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(refusal)) => {
                Ok(Some(refusal.item().cloned()))
            }
            _ => Err(backend("UpdateItem", &error)),
        }
    }
}

type Item = HashMap<String, AttributeValue>;

impl TransactionStore for DynamoStore {
    async fn record(&self, tx: &Transaction) -> Result<Outcome, StoreError> {
        let order = tx.order_key();
        // None: the usual condition; Some: replacing the legacy item compared.
        let mut pinned: Option<Pinned> = None;
        for _ in 0..ATTEMPTS {
            let condition = match &pinned {
                None => CONDITION.to_owned(),
                Some(p) => legacy_condition(p),
            };
            let refused_by = match self.write(tx, &order, &condition, pinned.as_ref()).await? {
                None => return Ok(Outcome::Recorded),
                Some(Some(item)) => Some(item),
                Some(None) => self.stored_item(&tx.id).await?,
            };
            let Some(item) = refused_by else {
                // Gone between the refusal and the read: write as new.
                pinned = None;
                continue;
            };
            if let Some(stored) = order_of(&item) {
                if stored >= order {
                    return refused(&stored, &order);
                }
                // Refused under the legacy condition because one of our events replaced
                // the legacy item meanwhile, an older one: compete again as usual.
                pinned = None;
                continue;
            }
            if item.contains_key("eventOrder") {
                return Err(StoreError::Corrupt("eventOrder is not a string".into()));
            }
            // Written by the seed's handler: compare its own fields.
            let legacy = legacy_order(&item);
            if legacy.as_deref().is_some_and(|l| *l >= *order) {
                return refused(legacy.as_deref().unwrap_or_default(), &order);
            }
            pinned = Some(Pinned {
                timestamp: item.get("timestamp").cloned(),
                status: item.get("status").cloned(),
            });
        }
        Err(StoreError::Backend {
            operation: "UpdateItem",
            message: format!(
                "the record kept changing during {ATTEMPTS} conditional writes; retry the event"
            ),
        })
    }
}

/// The order key of an item the seed's Python handler wrote (no `eventOrder`), built from
/// its own fields the way `Transaction::order_key` builds ours; `None` if its timestamp is
/// absent or unreadable (nothing to compare: the event replaces it). Fields after an
/// unreadable one are left out, which only makes the legacy item sort earlier.
fn legacy_order(item: &Item) -> Option<String> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    let time = EventTime::parse(text("timestamp")?).ok()?;
    let mut key = format!("{}|", time.sortable());
    if let Some(status) = text("status").and_then(Status::parse) {
        key.push_str(&format!("{}|{}", status.stage(), status.as_str()));
    }
    Some(key)
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

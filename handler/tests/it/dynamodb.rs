//! The handler against a real DynamoDB API (moto): conditional writes, read-back of exact
//! numbers, concurrency. Starts its own moto server unless `MOTO_ENDPOINT` is set.

use crate::support::moto;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::value::RawValue;
use webhook_handler::{DynamoStore, Handler, HandlerError, Response};

type Item = HashMap<String, AttributeValue>;

struct Fixture {
    client: Client,
    table: String,
    handler: Arc<Handler<DynamoStore>>,
}

async fn fixture() -> Fixture {
    let client = moto::dynamodb();
    let table = moto::create_table(&client).await;
    let handler = Arc::new(Handler::new(DynamoStore::new(
        client.clone(),
        table.clone(),
    )));
    Fixture {
        client,
        table,
        handler,
    }
}

fn event(id: &str, amount: &str, status: &str, timestamp: &str) -> String {
    format!(
        r#"{{"transactionId":"{id}","amount":{amount},"currency":"USD","status":"{status}","provider":"stripe","timestamp":"{timestamp}"}}"#
    )
}

async fn invoke(handler: &Handler<DynamoStore>, payload: &str) -> Result<Response, HandlerError> {
    let payload = RawValue::from_string(payload.to_owned()).unwrap();
    handler
        .handle(LambdaEvent::new(payload, Context::default()))
        .await
}

/// The `result` of a 200 response.
async fn result(handler: &Handler<DynamoStore>, payload: &str) -> String {
    let response = invoke(handler, payload)
        .await
        .expect("the store call succeeds");
    assert_eq!(response.status_code, 200, "{}", response.body);
    let body: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    body["result"].as_str().unwrap().to_owned()
}

impl Fixture {
    async fn item(&self, id: &str) -> Option<Item> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("transactionId", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        output.item
    }

    async fn attribute(&self, id: &str, name: &str) -> AttributeValue {
        self.item(id)
            .await
            .expect("item exists")
            .remove(name)
            .unwrap_or_else(|| panic!("{name} is set"))
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

#[tokio::test]
async fn first_event_is_recorded_with_every_attribute() {
    let f = fixture().await;
    let seed = event("txn_test_001", "99.99", "completed", "2025-01-15T10:30:00Z");
    assert_eq!(result(&f.handler, &seed).await, "recorded");

    let item = f.item("txn_test_001").await.expect("item written");
    assert_eq!(item["transactionId"], s("txn_test_001"));
    assert_eq!(item["amount"], AttributeValue::N("99.99".into()));
    assert_eq!(item["currency"], s("USD"));
    assert_eq!(item["status"], s("completed"));
    assert_eq!(item["provider"], s("stripe"));
    assert_eq!(item["timestamp"], s("2025-01-15T10:30:00Z"));
    assert_eq!(
        item["eventOrder"],
        s("2025-01-15T10:30:00.000000000Z|2|completed|USD|99.99|stripe")
    );
    assert_eq!(item["createdAt"], item["updatedAt"]);
    assert_eq!(item.len(), 9, "{item:?}");
}

#[tokio::test]
async fn redelivery_is_a_duplicate_and_changes_nothing() {
    let f = fixture().await;
    let seed = event("txn_dup", "99.99", "completed", "2025-01-15T10:30:00Z");
    assert_eq!(result(&f.handler, &seed).await, "recorded");
    let before = f.item("txn_dup").await;
    assert_eq!(result(&f.handler, &seed).await, "duplicate");
    assert_eq!(
        result(
            &f.handler,
            &event(
                "txn_dup",
                "99.990",
                "completed",
                "2025-01-15T11:30:00+01:00"
            )
        )
        .await,
        "duplicate"
    );
    assert_eq!(
        f.item("txn_dup").await,
        before,
        "not even updatedAt may change"
    );
}

#[tokio::test]
async fn older_event_is_stale_and_changes_nothing() {
    let f = fixture().await;
    assert_eq!(
        result(
            &f.handler,
            &event("txn_old", "99.99", "completed", "2025-01-15T10:30:00Z")
        )
        .await,
        "recorded"
    );
    let before = f.item("txn_old").await;
    assert_eq!(
        result(
            &f.handler,
            &event("txn_old", "99.99", "pending", "2025-01-15T10:29:59.999Z")
        )
        .await,
        "stale"
    );
    assert_eq!(f.item("txn_old").await, before);
}

#[tokio::test]
async fn newer_event_updates_the_status() {
    let f = fixture().await;
    assert_eq!(
        result(
            &f.handler,
            &event("txn_new", "99.99", "pending", "2025-01-15T10:30:00Z")
        )
        .await,
        "recorded"
    );
    let created = f.attribute("txn_new", "createdAt").await;
    assert_eq!(
        result(
            &f.handler,
            &event("txn_new", "99.99", "completed", "2025-01-15T10:31:00Z")
        )
        .await,
        "recorded"
    );
    assert_eq!(f.attribute("txn_new", "status").await, s("completed"));
    assert_eq!(
        f.attribute("txn_new", "timestamp").await,
        s("2025-01-15T10:31:00Z")
    );
    assert_eq!(
        f.attribute("txn_new", "createdAt").await,
        created,
        "createdAt is kept"
    );
    // And the older one, delivered late, is stale.
    assert_eq!(
        result(
            &f.handler,
            &event("txn_new", "99.99", "pending", "2025-01-15T10:30:00Z")
        )
        .await,
        "stale"
    );
    assert_eq!(f.attribute("txn_new", "status").await, s("completed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_record_once() {
    let f = fixture().await;
    let seed = event("txn_race", "99.99", "completed", "2025-01-15T10:30:00Z");
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (handler, barrier, seed) = (f.handler.clone(), barrier.clone(), seed.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                result(&handler, &seed).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| *r == "recorded").count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| *r == "duplicate").count(),
        19,
        "{results:?}"
    );
}

#[tokio::test]
async fn amounts_round_trip_digit_for_digit() {
    let f = fixture().await;
    let cases = [
        ("0.1", "0.1"),
        ("99.99", "99.99"),
        ("12345678901234567.89", "12345678901234567.89"),
        (
            "1234567890123456789012345678901234567.8",
            "1234567890123456789012345678901234567.8",
        ),
        ("0.000001", "0.000001"),
        ("1.5E+3", "1500"),
    ];
    for (i, (sent, stored)) in cases.iter().enumerate() {
        let id = format!("txn_amount_{i}");
        assert_eq!(
            result(
                &f.handler,
                &event(&id, sent, "completed", "2025-01-15T10:30:00Z")
            )
            .await,
            "recorded"
        );
        assert_eq!(
            f.attribute(&id, "amount").await,
            AttributeValue::N((*stored).into()),
            "{sent}"
        );
    }
}

#[tokio::test]
async fn same_instant_events_converge_in_either_order() {
    let f = fixture().await;
    let (first, second) = ("txn_tie_a", "txn_tie_b");
    let authorized = |id| event(id, "99.99", "authorized", "2025-01-15T10:30:00Z");
    let completed = |id| event(id, "99.99", "completed", "2025-01-15T10:30:00Z");
    assert_eq!(result(&f.handler, &authorized(first)).await, "recorded");
    assert_eq!(result(&f.handler, &completed(first)).await, "recorded");
    assert_eq!(result(&f.handler, &completed(second)).await, "recorded");
    assert_eq!(result(&f.handler, &authorized(second)).await, "stale");
    assert_eq!(f.attribute(first, "status").await, s("completed"));
    assert_eq!(
        f.attribute(first, "eventOrder").await,
        f.attribute(second, "eventOrder").await
    );
}

#[tokio::test]
async fn item_without_event_order_is_adopted() {
    // An item as the seed's Python handler would have written it.
    let f = fixture().await;
    f.client
        .put_item()
        .table_name(&f.table)
        .item("transactionId", s("txn_legacy"))
        .item("amount", AttributeValue::N("10".into()))
        .item("status", s("pending"))
        .send()
        .await
        .unwrap();
    let later = event("txn_legacy", "10", "completed", "2025-01-15T10:30:00Z");
    assert_eq!(result(&f.handler, &later).await, "recorded");
    assert_eq!(f.attribute("txn_legacy", "status").await, s("completed"));
    assert_eq!(result(&f.handler, &later).await, "duplicate");
}

/// Items the seed's Python handler wrote have no `eventOrder`: their own `timestamp` (as
/// an instant, whatever its offset) decides, so a redelivered older event does not regress
/// a newer stored status.
#[tokio::test]
async fn a_legacy_record_is_compared_by_its_timestamp_and_never_regressed() {
    let f = fixture().await;
    let legacy = |id: &str, status: &str, timestamp: &str| {
        f.client
            .put_item()
            .table_name(&f.table)
            .item("transactionId", s(id))
            .item("amount", AttributeValue::N("10".into()))
            .item("currency", s("USD"))
            .item("status", s(status))
            .item("provider", s("stripe"))
            .item("timestamp", s(timestamp))
            .send()
    };
    legacy("txn_py", "completed", "2025-01-15T10:30:00Z")
        .await
        .unwrap();
    // An older event, redelivered: stale, the record keeps its newer status.
    let older = event("txn_py", "10", "pending", "2025-01-15T10:00:00Z");
    assert_eq!(result(&f.handler, &older).await, "stale");
    assert_eq!(f.attribute("txn_py", "status").await, s("completed"));
    assert_eq!(
        f.attribute("txn_py", "timestamp").await,
        s("2025-01-15T10:30:00Z")
    );
    // The same instant at an earlier lifecycle stage: stale too.
    let same_instant = event("txn_py", "10", "authorized", "2025-01-15T11:30:00+01:00");
    assert_eq!(result(&f.handler, &same_instant).await, "stale");
    // A newer event replaces it, and from then on eventOrder decides.
    let newer = event("txn_py", "10", "refunded", "2025-01-15T11:00:00Z");
    assert_eq!(result(&f.handler, &newer).await, "recorded");
    assert_eq!(f.attribute("txn_py", "status").await, s("refunded"));
    assert_eq!(result(&f.handler, &older).await, "stale");
    assert_eq!(result(&f.handler, &newer).await, "duplicate");

    // Compared as instants, not as text: 11:30+01:00 is 10:30Z, older than 10:45Z
    // although it sorts after it as a string.
    legacy("txn_py_offset", "authorized", "2025-01-15T11:30:00+01:00")
        .await
        .unwrap();
    let later = event("txn_py_offset", "10", "completed", "2025-01-15T10:45:00Z");
    assert_eq!(result(&f.handler, &later).await, "recorded");
    let earlier = event("txn_py_offset", "10", "pending", "2025-01-15T10:15:00Z");
    assert_eq!(result(&f.handler, &earlier).await, "stale");
    assert_eq!(f.attribute("txn_py_offset", "status").await, s("completed"));

    // A legacy timestamp that is not a string cannot be compared: the event replaces
    // the item (conditioned on it as it is), and does not fail forever.
    f.client
        .put_item()
        .table_name(&f.table)
        .item("transactionId", s("txn_py_number"))
        .item("status", s("completed"))
        .item("timestamp", AttributeValue::N("1736937000".into()))
        .send()
        .await
        .unwrap();
    let event_now = event("txn_py_number", "10", "pending", "2025-01-15T10:00:00Z");
    assert_eq!(result(&f.handler, &event_now).await, "recorded");
}

#[tokio::test]
async fn dynamodb_failure_is_an_error_naming_the_transaction() {
    let client = moto::dynamodb();
    let handler = Handler::new(DynamoStore::new(client, "transactions-does-not-exist"));
    let error = invoke(
        &handler,
        &event("txn_fail", "99.99", "completed", "2025-01-15T10:30:00Z"),
    )
    .await
    .expect_err("a missing table is a failure, not a response");
    assert_eq!(error.transaction_id, "txn_fail");
    assert!(
        error
            .to_string()
            .starts_with("failed to record transaction txn_fail: UpdateItem failed:"),
        "{error}"
    );
    assert!(
        error.to_string().contains("ResourceNotFoundException"),
        "{error}"
    );
}

//! At-least-once and out-of-order delivery against the in-memory store (the same rules are
//! checked against a real DynamoDB API in `dynamodb.rs`).

use std::sync::Arc;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::value::RawValue;
use webhook_handler::status::Status;
use webhook_handler::{Handler, MemoryStore};

fn event(id: &str, status: &str, timestamp: &str) -> String {
    format!(
        r#"{{"transactionId":"{id}","amount":99.99,"currency":"USD","status":"{status}","provider":"stripe","timestamp":"{timestamp}"}}"#
    )
}

async fn result(handler: &Handler<MemoryStore>, payload: &str) -> String {
    let payload = RawValue::from_string(payload.to_owned()).unwrap();
    let response = handler
        .handle(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap();
    assert_eq!(response.status_code, 200, "{}", response.body);
    let body: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    body["result"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn redelivery_is_a_duplicate() {
    let handler = Handler::new(MemoryStore::new());
    let seed = event("txn_1", "completed", "2025-01-15T10:30:00Z");
    assert_eq!(result(&handler, &seed).await, "recorded");
    assert_eq!(result(&handler, &seed).await, "duplicate");
    // The same instant written with another offset is the same event.
    let same = event("txn_1", "completed", "2025-01-15T11:30:00+01:00");
    assert_eq!(result(&handler, &same).await, "duplicate");
    assert_eq!(handler.store().writes(), 1);
}

#[tokio::test]
async fn older_event_is_stale_and_newer_event_updates() {
    let handler = Handler::new(MemoryStore::new());
    assert_eq!(
        result(
            &handler,
            &event("txn_2", "authorized", "2025-01-15T10:31:00Z")
        )
        .await,
        "recorded"
    );
    assert_eq!(
        result(&handler, &event("txn_2", "pending", "2025-01-15T10:30:00Z")).await,
        "stale"
    );
    assert_eq!(
        handler.store().get("txn_2").unwrap().status,
        Status::Authorized
    );
    assert_eq!(
        result(
            &handler,
            &event("txn_2", "completed", "2025-01-15T10:32:00Z")
        )
        .await,
        "recorded"
    );
    assert_eq!(
        handler.store().get("txn_2").unwrap().status,
        Status::Completed
    );
    // A later event may even move "backwards" in the lifecycle: time decides, not status.
    assert_eq!(
        result(&handler, &event("txn_2", "pending", "2025-01-15T10:33:00Z")).await,
        "recorded"
    );
    assert_eq!(handler.store().writes(), 3);
}

#[tokio::test]
async fn same_instant_conflicts_converge_whatever_the_order() {
    let authorized = event("txn_3", "authorized", "2025-01-15T10:30:00Z");
    let completed = event("txn_3", "completed", "2025-01-15T10:30:00Z");

    let forward = Handler::new(MemoryStore::new());
    assert_eq!(result(&forward, &authorized).await, "recorded");
    assert_eq!(result(&forward, &completed).await, "recorded");

    let backward = Handler::new(MemoryStore::new());
    assert_eq!(result(&backward, &completed).await, "recorded");
    assert_eq!(result(&backward, &authorized).await, "stale");

    assert_eq!(forward.store().get("txn_3"), backward.store().get("txn_3"));
    assert_eq!(
        forward.store().get("txn_3").unwrap().status,
        Status::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redeliveries_record_once() {
    let handler = Arc::new(Handler::new(MemoryStore::new()));
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (handler, barrier) = (handler.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                result(
                    &handler,
                    &event("txn_4", "completed", "2025-01-15T10:30:00Z"),
                )
                .await
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
    assert_eq!(handler.store().writes(), 1);
}

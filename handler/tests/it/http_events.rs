//! Payloads arriving as HTTP events (Lambda function URL / API Gateway), with the exact
//! response each gets, and the response shape itself.

use crate::support::cases;

use base64::Engine as _;
use cases::*;
use serde_json::value::RawValue;
use webhook_handler::{Handler, MemoryStore};

fn table() -> Vec<Case> {
    // API Gateway REST (payload format 1.0): no `isBase64Encoded` when it is false.
    let rest_api = format!(
        r#"{{"resource":"/","path":"/","httpMethod":"POST","headers":{{"Content-Type":"application/json"}},"requestContext":{{"stage":"prod"}},"body":{}}}"#,
        serde_json::to_string(SEED).unwrap()
    );
    let padded = seed_with(&[("padding", Some(&format!("\"{}\"", "x".repeat(70_000))))]);
    vec![
        good("API Gateway REST event", rest_api, "txn_test_001", "99.99"),
        rejected(
            "HTTP body over 64 KiB once decoded",
            http(&padded, true),
            "body",
            "body must be at most 65536 bytes",
        ),
        rejected(
            "HTTP body is an object, not a string",
            http_raw(SEED, "false"),
            "body",
            "body must be a string, not an object",
        ),
        good(
            "HTTP event, plain body",
            http(SEED, false),
            "txn_test_001",
            "99.99",
        ),
        good(
            "HTTP event, base64 body",
            http(SEED, true),
            "txn_test_001",
            "99.99",
        ),
        good(
            "HTTP event, exact amount in base64 body",
            http(&seed_with(&[("amount", Some("0.1"))]), true),
            "txn_test_001",
            "0.1",
        ),
        rejected(
            "HTTP body not base64",
            http_raw(r#""%%%not-base64%%%""#, "true"),
            "body",
            "body is not valid base64",
        ),
        rejected(
            "HTTP body base64 of invalid UTF-8",
            http_raw(
                &format!(
                    "\"{}\"",
                    base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b'{', 0xc3])
                ),
                "true",
            ),
            "body",
            "body is not valid UTF-8",
        ),
        rejected(
            "HTTP body not JSON",
            http("transactionId=txn_test_001&amount=99.99", false),
            "body",
            "body is not valid JSON (line 1, column 3)",
        ),
        rejected(
            "HTTP body truncated",
            http(&SEED[..40], false),
            "body",
            "body is not valid JSON (line 1, column 40)",
        ),
        rejected(
            "HTTP body null",
            http_raw("null", "false"),
            "body",
            "body is required (the request had no body)",
        ),
        rejected(
            "HTTP body empty",
            http("", false),
            "body",
            "body is required (the request had no body)",
        ),
        rejected(
            "HTTP body is an array",
            http(&format!("[{SEED}]"), false),
            "body",
            "body must be a JSON object",
        ),
        rejected(
            "HTTP isBase64Encoded not a boolean",
            http_raw(&serde_json::to_string(SEED).unwrap(), r#""yes""#),
            "isBase64Encoded",
            "isBase64Encoded must be a boolean, not a string",
        ),
        rejected(
            "HTTP body missing currency",
            http(&seed_with(&[("currency", None)]), true),
            "currency",
            "currency is required",
        ),
        rejected(
            "HTTP body with a duplicate key",
            http(
                &seed_with(&[("status", Some(r#""pending","status":"completed""#))]),
                false,
            ),
            "status",
            "body has a duplicate key \\\"status\\\"",
        ),
    ]
}

#[tokio::test]
async fn every_http_event_gets_its_exact_response() {
    check(&table()).await;
}

#[tokio::test]
async fn response_shape_is_the_seeds() {
    let handler = Handler::with_clock(MemoryStore::new(), now);
    let response = serde_json::to_string(&invoke(&handler, SEED).await).unwrap();
    assert_eq!(
        response,
        r#"{"statusCode":200,"body":"{\"transactionId\":\"txn_test_001\",\"result\":\"recorded\"}"}"#
    );
    let response = serde_json::to_string(&invoke(&handler, "{}").await).unwrap();
    assert_eq!(
        response,
        r#"{"statusCode":400,"body":"{\"error\":\"validation_failed\",\"field\":\"transactionId\",\"message\":\"transactionId is required\"}"}"#
    );
}

/// lambda_runtime deserialises the payload through serde_path_to_error before calling the
/// handler; the amount's literal text must come out of that unchanged.
#[test]
fn runtime_deserialisation_keeps_the_raw_amount() {
    let text = seed_with(&[("amount", Some("12345678901234567.89"))]);
    let deserializer = &mut serde_json::Deserializer::from_slice(text.as_bytes());
    let payload: Box<RawValue> = serde_path_to_error::deserialize(deserializer).unwrap();
    assert_eq!(payload.get(), text);
}

//! Shared by the payload test binaries (`payloads.rs`, `http_events.rs`): builders for
//! payloads and expected responses, and the runner that checks a table of cases against the
//! handler over the in-memory store: a 400 must write nothing, a 200 exactly one record.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use base64::Engine as _;
use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::value::RawValue;
use webhook_handler::{Handler, MemoryStore, Response};

pub const SEED: &str = r#"{"transactionId":"txn_test_001","amount":99.99,"currency":"USD","status":"completed","provider":"stripe","timestamp":"2025-01-15T10:30:00Z"}"#;

/// The handler's "now": timestamps may be at most 15 minutes past it.
pub fn now() -> DateTime<Utc> {
    "2025-06-01T00:00:00Z".parse().unwrap()
}

/// The seed payload with some members replaced (`Some(raw JSON)`) or removed (`None`).
pub fn seed_with(changes: &[(&str, Option<&str>)]) -> String {
    let fields = [
        ("transactionId", r#""txn_test_001""#),
        ("amount", "99.99"),
        ("currency", r#""USD""#),
        ("status", r#""completed""#),
        ("provider", r#""stripe""#),
        ("timestamp", r#""2025-01-15T10:30:00Z""#),
    ];
    let mut members: Vec<String> = Vec::new();
    for (name, default) in fields {
        match changes.iter().find(|(n, _)| *n == name) {
            Some((_, Some(value))) => members.push(format!("\"{name}\":{value}")),
            Some((_, None)) => {}
            None => members.push(format!("\"{name}\":{default}")),
        }
    }
    for (name, value) in changes {
        if let (false, Some(value)) = (fields.iter().any(|(n, _)| n == name), value) {
            members.push(format!("\"{name}\":{value}"));
        }
    }
    format!("{{{}}}", members.join(","))
}

/// A Lambda function URL event (payload format 2.0) carrying `body`.
pub fn http(body: &str, base64: bool) -> String {
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        body.to_owned()
    };
    http_raw(&serde_json::to_string(&body).unwrap(), &base64.to_string())
}

pub fn http_raw(body_json: &str, is_base64_json: &str) -> String {
    format!(
        r#"{{"version":"2.0","routeKey":"$default","rawPath":"/","headers":{{"content-type":"application/json","x-forwarded-for":"203.0.113.9"}},"requestContext":{{"http":{{"method":"POST","path":"/"}}}},"body":{body_json},"isBase64Encoded":{is_base64_json}}}"#
    )
}

pub fn ok(id: &str, result: &str) -> String {
    format!(r#"{{"transactionId":"{id}","result":"{result}"}}"#)
}

pub fn bad(field: &str, message: &str) -> String {
    format!(r#"{{"error":"validation_failed","field":"{field}","message":"{message}"}}"#)
}

pub struct Case {
    pub name: &'static str,
    pub payload: String,
    pub status: u16,
    pub body: String,
    /// For a 200: the amount text the store must hold.
    pub stored_amount: Option<&'static str>,
}

pub fn good(name: &'static str, payload: String, id: &str, amount: &'static str) -> Case {
    Case {
        name,
        payload,
        status: 200,
        body: ok(id, "recorded"),
        stored_amount: Some(amount),
    }
}

pub fn rejected(name: &'static str, payload: String, field: &str, message: &str) -> Case {
    Case {
        name,
        payload,
        status: 400,
        body: bad(field, message),
        stored_amount: None,
    }
}

pub async fn invoke(handler: &Handler<MemoryStore>, payload: &str) -> Response {
    let payload = RawValue::from_string(payload.to_owned()).expect("test payloads are valid JSON");
    handler
        .handle(LambdaEvent::new(payload, Context::default()))
        .await
        .expect("the memory store never fails")
}

/// Runs every case on a fresh handler; reports all mismatches at once.
pub async fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let handler = Handler::with_clock(MemoryStore::new(), now);
        let response = invoke(&handler, &case.payload).await;
        if (response.status_code, response.body.as_str()) != (case.status, case.body.as_str()) {
            failures.push(format!(
                "{}:\n  expected {} {}\n  got      {} {}",
                case.name, case.status, case.body, response.status_code, response.body
            ));
            continue;
        }
        let store = handler.store();
        match case.stored_amount {
            None => assert_eq!(
                store.writes(),
                0,
                "{}: a rejected event must write nothing",
                case.name
            ),
            Some(amount) => {
                assert_eq!(store.writes(), 1, "{}", case.name);
                let body: serde_json::Value = serde_json::from_str(&response.body).unwrap();
                let id = body["transactionId"].as_str().unwrap();
                assert_eq!(
                    store.get(id).unwrap().amount.as_str(),
                    amount,
                    "{}",
                    case.name
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

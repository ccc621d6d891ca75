//! Generated invocations for the property tests and the long campaign: the seed's payload
//! mutated field by field (types swapped, fields removed or duplicated, unicode, numbers at
//! the edges, huge strings, deep nesting), wrapped as a direct invoke or an HTTP v1/v2
//! event, plain or base64 (including bytes that are not UTF-8).

#![allow(dead_code)]

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use lambda_runtime::{Context, LambdaEvent};
use proptest::prelude::*;
use serde_json::value::RawValue;
use webhook_handler::{Handler, MemoryStore};

/// The handler's "now" in every generated case (timestamps near it are valid).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).unwrap()
}

/// JSON text of a string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Number literals: valid amounts, and every edge the parser must survive.
pub fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "(0|[1-9][0-9]{0,20})(\\.[0-9]{1,20})?",
        2 => "-?(0|[1-9][0-9]{0,45})(\\.[0-9]{1,45})?([eE][+-]?[0-9]{1,22})?",
        1 => prop::sample::select(vec![
            "0", "-0", "0.0", "-1", "1e9223372036854775807", "1e-9223372036854775808",
            "1.5e-9223372036854775807", "9e+9223372036854775808", "18446744073709551616",
            "1e308", "1e-400", "1E+37", "1e38", "1e-38", "1e-39",
            "12345678901234567890123456789012345678", "123456789012345678901234567890123456789",
            "0.00000000000000000000000000000000000001", "99.99", "12345678901234567.89",
        ]).prop_map(str::to_owned),
    ]
}

fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => any::<String>().prop_map(|s| quoted(&s)),
        2 => "[A-Za-z0-9._:|-]{0,140}".prop_map(|s| quoted(&s)),
        1 => (1usize..4).prop_map(|k| quoted(&"é".repeat(k * 40_000))),
        1 => Just(r#""\ud800""#.to_owned()),
        1 => Just(r#""\u0000""#.to_owned()),
    ]
}

/// Any JSON value, as text: leaves of every type, arrays and objects a few levels deep,
/// and now and then a very deep nesting.
pub fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        number_literal(),
        string_literal(),
    ];
    let nested = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-zA-Z]{0,8}", inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", quoted(k)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    prop_oneof![
        20 => nested,
        1 => (1usize..3000).prop_map(|d| format!("{}1{}", "[".repeat(d), "]".repeat(d))),
        1 => (1usize..3000).prop_map(|d| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))),
    ]
}

/// A value for each seed field: mostly valid (so that many cases reach the store and
/// exercise redelivery and ordering), sometimes a near miss.
fn good_value(field: &str) -> BoxedStrategy<String> {
    let pick = |valid: Vec<&'static str>, near: Vec<&'static str>| {
        prop_oneof![
            8 => prop::sample::select(valid).prop_map(quoted),
            1 => prop::sample::select(near).prop_map(quoted),
        ]
        .boxed()
    };
    match field {
        "transactionId" => prop_oneof![
            8 => "[A-Za-z0-9][A-Za-z0-9._:-]{0,20}".prop_map(|s| quoted(&s)),
            1 => Just(quoted("txn_1")),
            1 => "[^A-Za-z0-9]{1,3}".prop_map(|s| quoted(&s)),
        ]
        .boxed(),
        "amount" => number_literal().boxed(),
        "currency" => pick(
            vec!["USD", "EUR", "JPY", "GBP"],
            vec!["usd", "XXX", "BTC", "US"],
        ),
        "status" => pick(
            vec![
                "pending",
                "authorized",
                "completed",
                "failed",
                "cancelled",
                "partially_refunded",
                "refunded",
                "disputed",
            ],
            vec!["COMPLETED", "settled", ""],
        ),
        "provider" => prop_oneof![
            8 => "[a-z][a-z0-9._-]{0,12}".prop_map(|s| quoted(&s)),
            1 => "[A-Z0-9|]{1,40}".prop_map(|s| quoted(&s)),
        ]
        .boxed(),
        _ => pick(
            vec![
                "2025-01-15T10:30:00Z",
                "2025-01-15T11:30:00+01:00",
                "2025-01-15T10:30:00.123456789Z",
                "2025-01-15T12:10:00Z",
                "2025-01-15T10:00:00Z",
                "1970-01-01T00:00:00Z",
                "2016-12-31T23:59:60Z",
            ],
            vec![
                "2025-01-16T10:30:00Z",
                "2025-01-15 10:30:00",
                "2025-13-45T99:99:99Z",
                "9999-12-31T23:59:59Z",
            ],
        ),
    }
}

const FIELDS: [&str; 6] = [
    "transactionId",
    "amount",
    "currency",
    "status",
    "provider",
    "timestamp",
];

/// The transaction document: each seed field kept with a plausible value, removed,
/// given any JSON value, or duplicated; plus unknown members.
pub fn document() -> impl Strategy<Value = String> {
    let fields: Vec<BoxedStrategy<Vec<String>>> = FIELDS
        .iter()
        .map(|&f| {
            let key = quoted(f);
            let k2 = key.clone();
            let k3 = key.clone();
            prop_oneof![
                40 => good_value(f).prop_map(move |v| vec![format!("{key}:{v}")]),
                1 => Just(vec![]),
                2 => json_value().prop_map(move |v| vec![format!("{k2}:{v}")]),
                1 => (good_value(f), json_value())
                    .prop_map(move |(a, b)| vec![format!("{k3}:{a}"), format!("{k3}:{b}")]),
            ]
            .boxed()
        })
        .collect();
    let extra = prop::collection::vec((any::<String>(), json_value()), 0..2);
    (fields, extra, any::<bool>()).prop_map(|(fields, extra, shuffle)| {
        let mut members: Vec<String> = fields.into_iter().flatten().collect();
        members.extend(extra.iter().map(|(k, v)| format!("{}:{v}", quoted(k))));
        if shuffle {
            members.reverse();
        }
        format!("{{{}}}", members.join(","))
    })
}

/// The whole invocation payload, as the Lambda service would pass it.
pub fn invocation() -> impl Strategy<Value = String> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    prop_oneof![
        8 => document(),
        // Not an object at all.
        1 => json_value(),
        // Function URL / API Gateway v2, and API Gateway v1.
        3 => document().prop_map(|d| format!(
            r#"{{"version":"2.0","routeKey":"$default","rawPath":"/","requestContext":{{"http":{{"method":"POST"}}}},"body":{},"isBase64Encoded":false}}"#,
            quoted(&d))),
        2 => document().prop_map(|d| format!(
            r#"{{"httpMethod":"POST","path":"/","body":{},"isBase64Encoded":false}}"#, quoted(&d))),
        2 => document().prop_map(move |d| format!(
            r#"{{"version":"2.0","body":{},"isBase64Encoded":true}}"#, quoted(&b64(d.as_bytes())))),
        // Base64 of bytes that are not UTF-8 (or not JSON), invalid base64, odd members.
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(move |bytes| format!(
            r#"{{"body":{},"isBase64Encoded":true}}"#, quoted(&b64(&bytes)))),
        1 => string_literal().prop_map(|s| format!(r#"{{"body":{s},"isBase64Encoded":true}}"#)),
        1 => (json_value(), json_value()).prop_map(|(b, e)| format!(
            r#"{{"requestContext":{{}},"body":{b},"isBase64Encoded":{e}}}"#)),
    ]
}

/// What one generated invocation did: the status code, and whether the store was written.
pub struct Answer {
    pub status_code: u16,
    pub body: String,
    pub wrote: bool,
}

/// Runs one invocation against a fresh in-memory store holding one earlier event. `None`
/// when the payload could not reach the handler at all: the Lambda runtime parses it as
/// JSON first (serde_json, nesting limited to 128 levels), exactly as `from_string` here.
pub async fn run(payload: &str) -> Option<Answer> {
    let raw = RawValue::from_string(payload.to_owned()).ok()?;
    let store = MemoryStore::new();
    let handler = Handler::with_clock(store, now);
    // A stored event, so that redeliveries and stale events happen too.
    let earlier = RawValue::from_string(
        r#"{"transactionId":"txn_1","amount":1,"currency":"USD","status":"pending","provider":"stripe","timestamp":"2025-01-15T10:00:00Z"}"#.into(),
    )
    .unwrap();
    handler
        .handle(LambdaEvent::new(earlier, Context::default()))
        .await
        .unwrap();
    let before = handler.store().writes();
    let response = handler
        .handle(LambdaEvent::new(raw, Context::default()))
        .await
        .expect("the in-memory store never fails");
    Some(Answer {
        status_code: response.status_code,
        body: response.body,
        wrote: handler.store().writes() != before,
    })
}

/// The property every invocation must have: 200 or 400, a JSON body, no write on a 400.
pub fn check(payload: &str, answer: &Answer) -> Result<(), String> {
    let short = || payload.chars().take(300).collect::<String>();
    if answer.status_code != 200 && answer.status_code != 400 {
        return Err(format!("status {} for {}", answer.status_code, short()));
    }
    if serde_json::from_str::<serde_json::Value>(&answer.body).is_err() {
        return Err(format!("body is not JSON: {} for {}", answer.body, short()));
    }
    if answer.status_code == 400 && answer.wrote {
        return Err(format!("a 400 wrote to the store: {}", short()));
    }
    Ok(())
}

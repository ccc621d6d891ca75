//! Every kind of direct-invoke payload, with the exact response it gets (status code and
//! body), against the in-memory store. HTTP events are in `http_events.rs`.

use crate::support::cases;

use cases::*;

fn table() -> Vec<Case> {
    let statuses =
        "pending, authorized, completed, failed, cancelled, partially_refunded, refunded, disputed";
    let provider_rule =
        "provider must be 1-32 characters of a-z, 0-9, '.', '_', '-' starting with a letter";
    let id_chars = "transactionId may contain only A-Z, a-z, 0-9, '.', '_', ':', '-' and must start with a letter or digit";
    let rfc3339 =
        "timestamp must be an RFC 3339 date-time with an offset, e.g. 2025-01-15T10:30:00Z";
    let long_id = format!("A{}", "b.c_d:e-".repeat(15) + "0123456");
    assert_eq!(long_id.len(), 128);
    vec![
        // Accepted.
        good("seed payload", SEED.into(), "txn_test_001", "99.99"),
        good("amount 0.1", seed_with(&[("amount", Some("0.1"))]), "txn_test_001", "0.1"),
        good(
            "amount beyond f64 precision",
            seed_with(&[("amount", Some("12345678901234567.89"))]),
            "txn_test_001",
            "12345678901234567.89",
        ),
        good(
            "amount with 38 digits",
            seed_with(&[("amount", Some("1234567890123456789012345678901234567.8"))]),
            "txn_test_001",
            "1234567890123456789012345678901234567.8",
        ),
        good("amount in exponent notation", seed_with(&[("amount", Some("1.5E+3"))]), "txn_test_001", "1500"),
        good("amount with trailing zeros", seed_with(&[("amount", Some("100.00"))]), "txn_test_001", "100"),
        good(
            "unknown members are ignored",
            seed_with(&[
                ("metadata", Some(r#"{"order":[1,2,{"x":null}],"note":"caf\u00e9 ☕"}"#)),
                ("livemode", Some("false")),
            ]),
            "txn_test_001",
            "99.99",
        ),
        good(
            "pretty-printed payload",
            "{\n  \"transactionId\" : \"txn_test_001\",\n  \"amount\" : 99.99 ,\n  \"currency\":\"USD\",\n\t\"status\":\"completed\",\"provider\":\"stripe\",\"timestamp\":\"2025-01-15T10:30:00Z\"\n}\n".into(),
            "txn_test_001",
            "99.99",
        ),
        good(
            "timestamp with offset and fraction",
            seed_with(&[("timestamp", Some(r#""2025-01-15T11:30:00.123+01:00""#))]),
            "txn_test_001",
            "99.99",
        ),
        good(
            "timestamp within the clock skew",
            seed_with(&[("timestamp", Some(r#""2025-06-01T00:14:59Z""#))]),
            "txn_test_001",
            "99.99",
        ),
        good(
            "newest ISO code, other status and provider",
            seed_with(&[
                ("currency", Some(r#""XCG""#)),
                ("status", Some(r#""partially_refunded""#)),
                ("provider", Some(r#""checkout.com""#)),
            ]),
            "txn_test_001",
            "99.99",
        ),
        good(
            "transactionId of 128 characters",
            seed_with(&[("transactionId", Some(&format!("\"{long_id}\"")))]),
            &long_id,
            "99.99",
        ),
        // The document as a whole.
        rejected("payload is an array", format!("[{SEED}]"), "payload", "payload must be a JSON object"),
        rejected("payload is a string", r#""txn_test_001""#.into(), "payload", "payload must be a JSON object"),
        rejected("empty object", "{}".into(), "transactionId", "transactionId is required"),
        rejected(
            "duplicate amount",
            seed_with(&[("amount", Some("1.00,\"amount\":1000.00"))]),
            "amount",
            "payload has a duplicate key \\\"amount\\\"",
        ),
        rejected(
            "duplicate unknown key",
            seed_with(&[("x", Some("1,\"x\":2"))]),
            "payload",
            "payload has a duplicate key",
        ),
        rejected(
            "payload over 64 KiB",
            seed_with(&[("padding", Some(&format!("\"{}\"", "x".repeat(100_000))))]),
            "payload",
            "payload must be at most 65536 bytes",
        ),
        // transactionId.
        rejected("transactionId missing", seed_with(&[("transactionId", None)]), "transactionId", "transactionId is required"),
        rejected(
            "transactionId is a number",
            seed_with(&[("transactionId", Some("1001"))]),
            "transactionId",
            "transactionId must be a string, not a number",
        ),
        rejected("transactionId empty", seed_with(&[("transactionId", Some(r#""""#))]), "transactionId", "transactionId must not be empty"),
        rejected(
            "transactionId of 129 characters",
            seed_with(&[("transactionId", Some(&format!("\"{long_id}x\"")))]),
            "transactionId",
            "transactionId must be at most 128 characters",
        ),
        rejected(
            "transactionId of 50,000 characters",
            seed_with(&[("transactionId", Some(&format!("\"{}\"", "a".repeat(50_000))))]),
            "transactionId",
            "transactionId must be at most 128 characters",
        ),
        rejected("transactionId with a space", seed_with(&[("transactionId", Some(r#""txn 001""#))]), "transactionId", id_chars),
        rejected("transactionId with non-ASCII", seed_with(&[("transactionId", Some(r#""txn_é""#))]), "transactionId", id_chars),
        rejected("transactionId with a pipe", seed_with(&[("transactionId", Some(r#""txn|1""#))]), "transactionId", id_chars),
        rejected("transactionId starting with '-'", seed_with(&[("transactionId", Some(r#""-txn""#))]), "transactionId", id_chars),
        rejected(
            "transactionId with a lone surrogate",
            seed_with(&[("transactionId", Some(r#""txn\ud800""#))]),
            "transactionId",
            "transactionId is not a valid string",
        ),
        // amount.
        rejected("amount missing", seed_with(&[("amount", None)]), "amount", "amount is required"),
        rejected(
            "amount as a string",
            seed_with(&[("amount", Some(r#""99.99""#))]),
            "amount",
            "amount must be a JSON number, not a string",
        ),
        rejected("amount zero", seed_with(&[("amount", Some("0.00"))]), "amount", "amount must be greater than zero"),
        rejected("amount negative", seed_with(&[("amount", Some("-99.99"))]), "amount", "amount must be greater than zero"),
        rejected("amount null", seed_with(&[("amount", Some("null"))]), "amount", "amount must be a JSON number, not null"),
        rejected("amount boolean", seed_with(&[("amount", Some("true"))]), "amount", "amount must be a JSON number, not a boolean"),
        rejected(
            "amount object",
            seed_with(&[("amount", Some(r#"{"value":"99.99"}"#))]),
            "amount",
            "amount must be a JSON number, not an object",
        ),
        rejected(
            "amount with 39 digits",
            seed_with(&[("amount", Some("123456789012345678901234567890123456789"))]),
            "amount",
            "amount must fit in 38 digits as a plain decimal",
        ),
        rejected("amount 1e400", seed_with(&[("amount", Some("1e400"))]), "amount", "amount must fit in 38 digits as a plain decimal"),
        // currency.
        rejected("currency lower case", seed_with(&[("currency", Some(r#""usd""#))]), "currency", "currency must be upper case (USD)"),
        rejected(
            "currency unknown",
            seed_with(&[("currency", Some(r#""XYZ""#))]),
            "currency",
            "currency must be an active ISO 4217 currency code, e.g. USD",
        ),
        rejected(
            "currency withdrawn (ANG)",
            seed_with(&[("currency", Some(r#""ANG""#))]),
            "currency",
            "currency must be an active ISO 4217 currency code, e.g. USD",
        ),
        rejected(
            "currency is the testing code",
            seed_with(&[("currency", Some(r#""XTS""#))]),
            "currency",
            "currency must be an active ISO 4217 currency code, e.g. USD",
        ),
        rejected(
            "currency as numeric code",
            seed_with(&[("currency", Some("840"))]),
            "currency",
            "currency must be a string, not a number",
        ),
        // status.
        rejected(
            "status unknown",
            seed_with(&[("status", Some(r#""done""#))]),
            "status",
            &format!("status must be one of {statuses}"),
        ),
        rejected(
            "status capitalised",
            seed_with(&[("status", Some(r#""Completed""#))]),
            "status",
            &format!("status must be one of {statuses}"),
        ),
        // provider.
        rejected("provider capitalised", seed_with(&[("provider", Some(r#""Stripe""#))]), "provider", provider_rule),
        rejected("provider empty", seed_with(&[("provider", Some(r#""""#))]), "provider", provider_rule),
        rejected(
            "provider of 33 characters",
            seed_with(&[("provider", Some(&format!("\"{}\"", "p".repeat(33))))]),
            "provider",
            provider_rule,
        ),
        rejected("provider missing", seed_with(&[("provider", None)]), "provider", "provider is required"),
        // timestamp.
        rejected("timestamp without offset", seed_with(&[("timestamp", Some(r#""2025-01-15T10:30:00""#))]), "timestamp", rfc3339),
        rejected("timestamp impossible date", seed_with(&[("timestamp", Some(r#""2025-02-30T10:30:00Z""#))]), "timestamp", rfc3339),
        rejected("timestamp free text", seed_with(&[("timestamp", Some(r#""yesterday""#))]), "timestamp", rfc3339),
        rejected(
            "timestamp as epoch seconds",
            seed_with(&[("timestamp", Some("1736937000"))]),
            "timestamp",
            "timestamp must be a string, not a number",
        ),
        rejected(
            "timestamp in the future",
            seed_with(&[("timestamp", Some(r#""2025-06-01T00:15:01Z""#))]),
            "timestamp",
            "timestamp must not be more than 15 minutes in the future",
        ),
    ]
}

#[tokio::test]
async fn every_payload_gets_its_exact_response() {
    let table = table();
    assert!(table.len() >= 25);
    check(&table).await;
}

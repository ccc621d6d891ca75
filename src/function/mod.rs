//! Operating the deployed function from the tool: invoke it (on AWS, or on
//! this machine behind a Runtime API the CLI serves), a post-deploy smoke
//! test, and its logs made readable.

pub mod invoke;
pub mod logs;
pub mod runtime_api;

/// The seed README's test event.
pub const SEED_EVENT: &str = r#"{"transactionId":"txn_test_001","amount":99.99,"currency":"USD","status":"completed","provider":"stripe","timestamp":"2025-01-15T10:30:00Z"}"#;

/// The seed event under a transaction id of its own, marked as a smoke test
/// by its prefix (`smoke-`), and the id.
pub fn smoke_event(id: Option<&str>) -> (String, String) {
    let id = id.map(str::to_owned).unwrap_or_else(|| {
        let now = crate::ambient::now().format("%Y%m%dT%H%M%SZ");
        let short = crate::ambient::uuid().simple().to_string();
        format!("smoke-{now}-{}", &short[..8])
    });
    let event = SEED_EVENT.replace("txn_test_001", &id);
    (event, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_events_are_the_seed_event_under_a_unique_marked_id() {
        let (a, id_a) = smoke_event(None);
        let (_, id_b) = smoke_event(None);
        assert_ne!(id_a, id_b);
        assert!(id_a.starts_with("smoke-"), "{id_a}");
        assert!(id_a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)));
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["transactionId"], id_a.as_str());
        assert_eq!(v["amount"].to_string(), "99.99");
        let (_, fixed) = smoke_event(Some("smoke-fixed"));
        assert_eq!(fixed, "smoke-fixed");
    }
}

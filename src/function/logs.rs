//! The handler's log lines made readable: it writes one JSON object per line
//! (`timestamp`, `level`, `message`, `transaction_id`, ...); Lambda adds its
//! own plain lines (START, END, REPORT).

use serde_json::Value;

/// One log line as a person reads it: time, level, transaction, message and
/// the other fields; a line that is not the handler's JSON, as it is.
pub fn readable(line: &str) -> String {
    let line = line.trim_end();
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(line) else {
        return line.to_owned();
    };
    let mut take = |k: &str| m.remove(k);
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let time = text(take("timestamp"));
    let level = text(take("level"));
    let transaction = text(take("transaction_id"));
    let mut message = text(take("message"));
    // tracing's JSON puts the message under `fields` unless flattened.
    if let Some(Value::Object(mut fields)) = take("fields") {
        if message.is_empty() {
            message = text(fields.remove("message"));
        }
        m.extend(fields);
    }
    m.remove("target");
    m.remove("span");
    m.remove("spans");
    // The time of day, to the millisecond.
    let clock = time
        .split('T')
        .nth(1)
        .unwrap_or(&time)
        .trim_end_matches('Z');
    let time = clock.get(..12).unwrap_or(clock).to_owned();
    let mut out = format!("{time} {level:<5} ");
    if !transaction.is_empty() {
        out.push_str(&format!("[{transaction}] "));
    }
    out.push_str(&message);
    for (k, v) in m {
        out.push_str(&format!(" {k}={}", text(Some(v))));
    }
    out.trim_end().to_owned()
}

/// Lambda's billed duration, from its REPORT line (`Billed Duration: 13 ms`).
pub fn billed_ms(lines: &[String]) -> Option<u64> {
    lines.iter().find_map(|l| {
        let rest = l.split("Billed Duration: ").nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A duration such as `10m`, `2h`, `30s` or `1d` before now, in
/// milliseconds since the epoch.
pub fn since(text: &str, now_ms: i64) -> Option<i64> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    let ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    Some(now_ms - n.checked_mul(ms)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handlers_json_lines_read_as_time_level_transaction_message() {
        let line = r#"{"timestamp":"2026-12-07T10:30:00.123456Z","level":"INFO","message":"transaction recorded","transaction_id":"txn_1","outcome":"recorded","target":"webhook_handler::handler"}"#;
        assert_eq!(
            readable(line),
            "10:30:00.123 INFO  [txn_1] transaction recorded outcome=recorded"
        );
        let nested = r#"{"timestamp":"2026-12-07T10:30:00.5Z","level":"WARN","fields":{"message":"rejected","field":"amount"}}"#;
        assert_eq!(readable(nested), "10:30:00.5 WARN  rejected field=amount");
        assert_eq!(readable("START RequestId: abc\n"), "START RequestId: abc");
    }

    #[test]
    fn billed_duration_and_since() {
        let lines = vec![
            "END RequestId: x".to_owned(),
            "REPORT RequestId: x\tDuration: 12.34 ms\tBilled Duration: 13 ms".to_owned(),
        ];
        assert_eq!(billed_ms(&lines), Some(13));
        assert_eq!(billed_ms(&[]), None);
        assert_eq!(since("10m", 1_000_000), Some(400_000));
        assert_eq!(since("1h", 3_600_000), Some(0));
        assert_eq!(since("5", 0), None);
        assert_eq!(since("5y", 0), None);
    }
}

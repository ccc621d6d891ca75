//! Event timestamps: RFC 3339 in, a fixed-width UTC form out.
//!
//! Ordering decisions are made by DynamoDB comparing strings, so the stored form must sort
//! lexicographically in time order: UTC, `Z`, always nine fraction digits
//! (`2025-01-15T10:30:00.000000000Z`). `10:30:00+01:00` and `09:30:00Z` are the same instant
//! and normalise to the same string.

use chrono::{DateTime, SecondsFormat, Utc};

/// Longest timestamp text we parse (an RFC 3339 value with nanoseconds and an offset is 35).
const MAX_LEN: usize = 64;

/// A parsed event time, with the text the sender used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTime {
    utc: DateTime<Utc>,
    original: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an RFC 3339 date-time with an offset, e.g. 2025-01-15T10:30:00Z")]
pub struct TimestampError;

impl EventTime {
    pub fn parse(text: &str) -> Result<EventTime, TimestampError> {
        if text.len() > MAX_LEN {
            return Err(TimestampError);
        }
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| TimestampError)?;
        Ok(EventTime {
            utc: parsed.with_timezone(&Utc),
            original: text.to_owned(),
        })
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.utc
    }

    /// The text as the sender wrote it (kept in the record for humans).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Fixed-width UTC text whose byte order is time order (a leap second `:60` sorts
    /// between `:59.999999999` and the next minute, as it should).
    pub fn sortable(&self) -> String {
        self.utc.to_rfc3339_opts(SecondsFormat::Nanos, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_fixed_width_utc() {
        let cases = [
            ("2025-01-15T10:30:00Z", "2025-01-15T10:30:00.000000000Z"),
            (
                "2025-01-15T11:30:00+01:00",
                "2025-01-15T10:30:00.000000000Z",
            ),
            (
                "2025-01-15T10:30:00.5-00:30",
                "2025-01-15T11:00:00.500000000Z",
            ),
            (
                "2025-01-15T10:30:00.123456789Z",
                "2025-01-15T10:30:00.123456789Z",
            ),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60.000000000Z"),
        ];
        for (input, expected) in cases {
            let t = EventTime::parse(input).unwrap();
            assert_eq!(t.sortable(), expected, "{input}");
            assert_eq!(t.original(), input);
        }
    }

    #[test]
    fn sortable_order_is_time_order() {
        let ordered = [
            "0001-01-01T00:00:00Z",
            "2016-12-31T23:59:59.999999999Z",
            "2016-12-31T23:59:60Z",
            "2017-01-01T00:00:00Z",
            "2025-01-15T10:30:00Z",
            "2025-01-15T10:30:00.000000001Z",
            "9999-12-31T23:59:59Z",
        ];
        let keys: Vec<String> = ordered
            .iter()
            .map(|t| EventTime::parse(t).unwrap().sortable())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in [
            "",
            "2025-01-15",
            "2025-01-15T10:30:00",
            "2025-02-30T10:30:00Z",
            "2025-01-15T25:00:00Z",
            "15/01/2025 10:30",
            "1736937000",
            "2025-01-15T10:30:00+24:00",
        ] {
            assert_eq!(EventTime::parse(bad), Err(TimestampError), "{bad}");
        }
        assert!(EventTime::parse(&format!("2025-01-15T10:30:00.{}Z", "1".repeat(80))).is_err());
    }
}

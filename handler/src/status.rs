//! Payment statuses and their place in a payment's lifecycle.

use std::fmt;

/// The statuses a webhook may report, spelled exactly as on the wire (lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Created, not yet authorised.
    Pending,
    /// Funds reserved, not yet captured.
    Authorized,
    /// Captured / settled.
    Completed,
    /// Declined or errored.
    Failed,
    /// Voided before completion.
    Cancelled,
    /// Part of a completed payment returned.
    PartiallyRefunded,
    /// The whole payment returned.
    Refunded,
    /// A chargeback was opened.
    Disputed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::Authorized,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
        Status::PartiallyRefunded,
        Status::Refunded,
        Status::Disputed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Authorized => "authorized",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::PartiallyRefunded => "partially_refunded",
            Status::Refunded => "refunded",
            Status::Disputed => "disputed",
        }
    }

    /// Exact, case-sensitive match on the wire spelling.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// How far along the lifecycle a status is. It only breaks ties between two *different*
    /// events carrying the *same* timestamp (providers often stamp whole seconds, and
    /// `authorized` and `completed` can share one): the later stage wins, so the stored
    /// record does not depend on which of the two arrived first.
    pub fn stage(self) -> u8 {
        match self {
            Status::Pending => 0,
            Status::Authorized => 1,
            Status::Completed | Status::Failed | Status::Cancelled => 2,
            Status::PartiallyRefunded | Status::Refunded | Status::Disputed => 3,
        }
    }

    /// `pending, authorized, …` for error messages.
    pub fn list() -> String {
        Status::ALL.map(Status::as_str).join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_is_case_sensitive() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("Completed"), None);
        assert_eq!(Status::parse("canceled"), None);
        assert_eq!(Status::parse(""), None);
    }

    #[test]
    fn stage_is_a_single_digit() {
        // The stage is written as one character of the ordering key (see transaction.rs).
        assert!(Status::ALL.iter().all(|s| s.stage() < 10));
    }
}

//! Where transactions are recorded: the trait the handler depends on, and the rule that
//! turns "the conditional write was refused" into `duplicate` or `stale`.

use std::future::Future;

use crate::transaction::{same_instant, Transaction};

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The event was written: it is the first for its transaction, or supersedes the stored one.
    Recorded,
    /// The same event is already stored (a redelivery); nothing changed.
    Duplicate,
    /// A later event is already stored; nothing changed. `same_instant` is true when the
    /// stored event has the same timestamp but other content (it won the tie-break).
    Stale { same_instant: bool },
}

impl Outcome {
    /// The `result` word of the response.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recorded => "recorded",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale { .. } => "stale",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service failed or could not be reached; the event should be retried.
    #[error("{operation} failed: {message}")]
    Backend {
        operation: &'static str,
        message: String,
    },
    /// The stored record cannot be compared with the event (hand-edited, or written by
    /// another program in another shape). Retrying will not help; someone has to look.
    #[error("stored record is unusable: {0}")]
    Corrupt(String),
}

/// Records one event per call. Implementations must make the decision atomically: of any
/// number of concurrent calls with the same event, exactly one may return `Recorded`.
pub trait TransactionStore {
    fn record(&self, tx: &Transaction) -> impl Future<Output = Result<Outcome, StoreError>> + Send;
}

/// The outcome of an event whose write was refused because `stored` (the order key of the
/// record at that moment) is not older than `incoming` (see `Transaction::order_key`).
pub fn refused(stored: &str, incoming: &str) -> Result<Outcome, StoreError> {
    if stored == incoming {
        Ok(Outcome::Duplicate)
    } else if stored > incoming {
        Ok(Outcome::Stale {
            same_instant: same_instant(stored, incoming),
        })
    } else {
        // The condition only refuses when stored >= incoming; the opposite means the store
        // and this code disagree on the order, and retrying is the safe answer.
        Err(StoreError::Corrupt(format!(
            "write refused although the stored event is older ({stored} < {incoming})"
        )))
    }
}

//! A validated payment event and the key that orders events of one transaction.

use crate::amount::Amount;
use crate::status::Status;
use crate::timestamp::EventTime;

/// A webhook event that passed validation (see `validate.rs` for the rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: String,
    pub amount: Amount,
    /// One of `currency::lookup`'s codes.
    pub currency: &'static str,
    pub status: Status,
    pub provider: String,
    pub timestamp: EventTime,
}

impl Transaction {
    /// The event's position among all events of this transaction, as a string whose byte
    /// order is the order in which events supersede each other:
    ///
    /// `<UTC timestamp, fixed width>|<lifecycle stage>|<status>|<currency>|<amount>|<provider>`
    ///
    /// - a later timestamp wins;
    /// - at the same instant, the later lifecycle stage wins (`completed` over `authorized`);
    /// - after that the remaining content breaks the tie — arbitrary, but deterministic, so
    ///   every delivery order converges on the same stored record;
    /// - two events are the *same event* exactly when their keys are equal: same instant
    ///   (whatever offset it was written in) and same content.
    ///
    /// `|` cannot occur in any field (validation forbids it), so the key is unambiguous.
    pub fn order_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.timestamp.sortable(),
            self.status.stage(),
            self.status.as_str(),
            self.currency,
            self.amount,
            self.provider,
        )
    }
}

/// Whether two order keys carry the same instant (the timestamp is the fixed-width prefix).
pub fn same_instant(a: &str, b: &str) -> bool {
    a.split('|').next() == b.split('|').next()
}

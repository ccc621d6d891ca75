//! Why an event was refused: a 400 that names the field at fault.

/// A client error. Nothing is written for a rejected event, and the sender should not
/// retry it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    /// The offending field (`amount`, `body`, …) or `payload` for the document as a whole.
    pub field: &'static str,
    /// A sentence that starts with the field name. It never quotes the sender's values, so
    /// it is safe to log and to return.
    pub message: String,
    /// Set when the transaction id itself was valid, so the log line can carry it.
    pub transaction_id: Option<String>,
}

impl Rejection {
    pub fn new(field: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            field,
            message: message.into(),
            transaction_id: None,
        }
    }

    /// `"<field> <what>"`, the common shape.
    pub fn field(field: &'static str, what: impl std::fmt::Display) -> Rejection {
        Rejection::new(field, format!("{field} {what}"))
    }

    pub fn with_transaction_id(mut self, id: &str) -> Rejection {
        self.transaction_id = Some(id.to_owned());
        self
    }
}

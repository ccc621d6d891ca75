//! The payment webhook handler , as a library so that tests can call it.
//!
//! An invocation carries one payment event, directly or as an HTTP body (`event`). The event
//! is validated field by field (`validate`, `amount`, `currency`, `status`, `timestamp`) and
//! recorded with a single conditional write (`store`, `dynamo`), so that redeliveries and
//! out-of-order deliveries neither duplicate nor regress a record. The answer is
//! `{"statusCode", "body"}` (`response`):
//!
//! | case | answer |
//! |---|---|
//! | first event of a transaction, or a later one | 200, `result: recorded` |
//! | the stored event again | 200, `result: duplicate`, nothing written |
//! | an event older than the stored one | 200, `result: stale`, nothing written |
//! | invalid input | 400 naming the field, nothing written |
//! | the table cannot be written | `Err` (the invocation fails, the sender retries) |
//!
//! "Older" compares timestamps; at the same instant, the later lifecycle stage wins, then
//! a fixed order of the content, so every delivery order ends in the same record
//! (`Transaction::order_key`). `main.rs` only wires this to `lambda_runtime`.

pub mod amount;
pub mod config;
pub mod currency;
pub mod dynamo;
pub mod event;
pub mod handler;
pub mod http;
pub mod json;
pub mod memory;
pub mod rejection;
pub mod response;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod timestamp;
pub mod transaction;
pub mod validate;

pub use dynamo::DynamoStore;
pub use handler::{Handler, HandlerError};
pub use memory::MemoryStore;
pub use response::Response;
pub use store::{Outcome, StoreError, TransactionStore};
pub use transaction::Transaction;

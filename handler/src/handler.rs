//! The function itself: payload in, response out, over any `TransactionStore`.

use std::time::Instant;

use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use tracing::{error, info, warn};

use crate::event;
use crate::response::Response;
use crate::store::{Outcome, StoreError, TransactionStore};
use crate::validate;

/// A failure the sender should retry: the Lambda service reports the invocation as failed
/// (an HTTP sender sees a 5xx), so no 500 body is ever returned.
#[derive(Debug, thiserror::Error)]
#[error("failed to record transaction {transaction_id}: {source}")]
pub struct HandlerError {
    pub transaction_id: String,
    #[source]
    pub source: StoreError,
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        // The invoker sees the transaction id but not the backend's message (table ARN,
        // account id); that is in the function's log.
        Diagnostic {
            error_type: "StoreError".into(),
            error_message: format!("failed to record transaction {}", error.transaction_id),
        }
    }
}

pub struct Handler<S> {
    store: S,
    /// Injected so tests can pin "now" (it bounds how far in the future a timestamp may be).
    clock: fn() -> DateTime<Utc>,
}

impl<S: TransactionStore> Handler<S> {
    pub fn new(store: S) -> Handler<S> {
        Handler::with_clock(store, Utc::now)
    }

    pub fn with_clock(store: S, clock: fn() -> DateTime<Utc>) -> Handler<S> {
        Handler { store, clock }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Handles one invocation and writes exactly one log line about it.
    pub async fn handle(
        &self,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<Response, HandlerError> {
        let started = Instant::now();
        let latency_ms = || started.elapsed().as_secs_f64() * 1000.0;

        let parsed = event::transaction_document(&event.payload).and_then(|(source, document)| {
            let field = match source {
                event::Source::Direct => "payload",
                event::Source::Http => "body",
            };
            validate::transaction(field, &document, (self.clock)()).map(|tx| (source, tx))
        });
        let (source, tx) = match parsed {
            Ok(parsed) => parsed,
            Err(rejection) => {
                warn!(
                    transaction_id = rejection.transaction_id.as_deref(),
                    field = rejection.field,
                    reason = %rejection.message,
                    status_code = 400,
                    latency_ms = latency_ms(),
                    "event rejected"
                );
                return Ok(Response::rejected(&rejection));
            }
        };

        match self.store.record(&tx).await {
            Ok(outcome) => {
                info!(
                    transaction_id = %tx.id,
                    provider = %tx.provider,
                    status = tx.status.as_str(),
                    result = outcome.as_str(),
                    // A stale event that lost a same-timestamp tie-break: worth a look if frequent.
                    conflict = matches!(outcome, Outcome::Stale { same_instant: true }),
                    source = source.as_str(),
                    status_code = 200,
                    latency_ms = latency_ms(),
                    "event processed"
                );
                Ok(Response::accepted(&tx.id, outcome))
            }
            Err(source_error) => {
                error!(
                    transaction_id = %tx.id,
                    provider = %tx.provider,
                    result = "error",
                    error = %source_error,
                    latency_ms = latency_ms(),
                    "event not recorded; the sender should retry"
                );
                Err(HandlerError {
                    transaction_id: tx.id,
                    source: source_error,
                })
            }
        }
    }
}

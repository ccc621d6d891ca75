//! Structured JSON logs, one object per line, to stdout (which Lambda sends to the
//! function's log group).

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The filter for a `LOG_LEVEL` value.
///
/// A plain level (`info`, `debug`, …) applies to this crate and to the runtime's invocation
/// span (which carries the `requestId`); everything else — the AWS SDK, hyper, rustls —
/// stays at `warn`, because their debug output is noise and their trace output can contain
/// request bodies. The runtime is capped at `debug`: at `trace` it dumps whole payloads.
/// Anything else (`webhook_handler=debug,aws_smithy_runtime=debug`) is a list of
/// `target=level` directives used as is, for debugging by hand.
pub fn filter_directives(log_level: &str) -> String {
    let level = log_level.trim().to_ascii_lowercase();
    match level.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" | "off" => {
            let runtime = if level == "trace" {
                "debug"
            } else {
                level.as_str()
            };
            format!("warn,webhook_handler={level},bootstrap={level},lambda_runtime={runtime}")
        }
        _ => log_level.to_owned(),
    }
}

/// Installs the global subscriber, writing to stdout. An unusable `LOG_LEVEL` falls back to
/// `info` (a typo in a log setting must not stop payments from being recorded) and says so.
pub fn init(log_level: &str) {
    let (subscriber, invalid) = subscriber(log_level, std::io::stdout);
    // Only fails if one is installed already (a second init): keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
    if invalid {
        tracing::warn!(
            log_level,
            "LOG_LEVEL is not a valid level or filter; using info"
        );
    }
}

/// The function's subscriber, writing JSON lines to `writer`; `true` when `log_level` was
/// unusable and `info` is used instead.
pub fn subscriber<W>(log_level: &str, writer: W) -> (impl tracing::Subscriber + Send + Sync, bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (filter, invalid) = match Targets::from_str(&filter_directives(log_level)) {
        Ok(filter) => (filter, false),
        Err(_) => (
            Targets::from_str(&filter_directives("info")).expect("a plain level is valid"),
            true,
        ),
    };
    let json = tracing_subscriber::fmt::layer()
        .json()
        // Fields at the top level of each line, so CloudWatch Logs Insights can query
        // `transaction_id` directly.
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer);
    (
        tracing_subscriber::registry().with(json).with(filter),
        invalid,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_levels_scope_to_our_crates() {
        assert_eq!(
            filter_directives("info"),
            "warn,webhook_handler=info,bootstrap=info,lambda_runtime=info"
        );
        assert_eq!(
            filter_directives("TRACE"),
            "warn,webhook_handler=trace,bootstrap=trace,lambda_runtime=debug"
        );
        assert_eq!(
            filter_directives("webhook_handler=debug"),
            "webhook_handler=debug"
        );
    }
}

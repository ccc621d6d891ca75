//! Structured JSON logs, one object per line, to stdout (which Lambda sends to the
//! function's log group).

use tracing_subscriber::EnvFilter;

/// The filter for a `LOG_LEVEL` value.
///
/// A plain level (`info`, `debug`, …) applies to this crate and to the runtime's invocation
/// span (which carries the `requestId`); everything else — the AWS SDK, hyper, rustls —
/// stays at `warn`, because their debug output is noise and their trace output can contain
/// request bodies. The runtime is capped at `debug`: at `trace` it dumps whole payloads.
/// Anything else (`webhook_handler=debug,aws_smithy_runtime=debug`) is an `EnvFilter`
/// directive used as is, for debugging by hand.
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

/// Installs the global subscriber. An unusable `LOG_LEVEL` falls back to `info` (a typo in
/// a log setting must not stop payments from being recorded) and says so.
pub fn init(log_level: &str) {
    let (filter, invalid) = match EnvFilter::try_new(filter_directives(log_level)) {
        Ok(filter) => (filter, false),
        Err(_) => (EnvFilter::new(filter_directives("info")), true),
    };
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        // Fields at the top level of each line, so CloudWatch Logs Insights can query
        // `transaction_id` directly.
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .init();
    if invalid {
        tracing::warn!(
            log_level,
            "LOG_LEVEL is not a valid level or filter; using info"
        );
    }
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

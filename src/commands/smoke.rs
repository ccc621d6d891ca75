//! `smoke`: the post-deploy check. The seed's test event under a unique
//! transaction id, then the item read back with a consistent read and
//! checked field by field.

use super::invoke::run_once;
use super::printer::emit;
use super::session::Session;
use super::ExitStatus;
use crate::cli::Runner;
use crate::config::Config;
use crate::function::invoke::{millis, Invocation, Mode};
use crate::program::{name, TABLE};
use crate::providers::aws::errors::aws_error;
use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use std::fmt;
use std::time::Instant;

/// What the seed event must leave in the table.
const EXPECTED: [(&str, &str); 4] = [
    ("amount", "99.99"),
    ("currency", "USD"),
    ("status", "completed"),
    ("provider", "stripe"),
];

#[derive(Serialize)]
struct Check {
    field: &'static str,
    expected: &'static str,
    actual: Option<String>,
    ok: bool,
}

#[derive(Serialize)]
struct SmokeReport {
    passed: bool,
    transaction_id: String,
    /// Why it failed, in a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    invoke_ms: f64,
    read_ms: f64,
    checks: Vec<Check>,
    invocation: Invocation,
}

impl fmt::Display for SmokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match self.invocation.mode {
            Mode::Aws => "on AWS",
            Mode::Local { .. } => "locally",
        };
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let why = self
            .failure
            .as_deref()
            .map(|w| format!(": {w}"))
            .unwrap_or_else(|| " (amount, currency, status and provider as sent)".into());
        writeln!(
            f,
            "smoke {verdict}: {} {place} recorded {}{why}; invoke {} ms, read back {} ms",
            self.invocation.function, self.transaction_id, self.invoke_ms, self.read_ms
        )
    }
}

pub async fn run(
    config: &Config,
    transaction_id: Option<&str>,
    runner: &Runner,
) -> Result<ExitStatus> {
    let (event, id) = crate::function::smoke_event(transaction_id);
    let session = Session::open(config).await;
    let invocation = run_once(config, &session, runner, &event).await?;
    // The invocation itself (a local one from the start of its process),
    // not the build before it.
    let invoke_ms = invocation.duration_ms + invocation.init_ms.unwrap_or(0.0);
    let mut failure = None;
    if let Some(e) = &invocation.function_error {
        failure = Some(format!("the function failed ({e})"));
    } else if invocation.status_code != Some(200) {
        failure = Some(format!(
            "the function answered status {}",
            invocation
                .status_code
                .map_or("(none)".into(), |c| c.to_string())
        ));
    } else {
        // Recorded now, or already (a re-run under the same id).
        let result = invocation
            .body()
            .and_then(|b| b["result"].as_str().map(str::to_owned));
        if !matches!(result.as_deref(), Some("recorded" | "duplicate")) {
            failure = Some(format!(
                "the function answered {}, not recorded",
                result.unwrap_or_else(|| "no result".into())
            ));
        }
    }
    let started = Instant::now();
    let table = name(&config.suffix, TABLE);
    let read = session
        .aws
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("transactionId", AttributeValue::S(id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(aws_error("GetItem"));
    let item = match read {
        Ok(out) => out.item,
        Err(e) => {
            failure.get_or_insert(format!("cannot read the item back ({e})"));
            None
        }
    };
    let read_ms = millis(started.elapsed());
    let checks: Vec<Check> = EXPECTED
        .iter()
        .map(|(field, expected)| {
            let actual = item.as_ref().and_then(|i| match i.get(*field)? {
                AttributeValue::S(s) | AttributeValue::N(s) => Some(s.clone()),
                other => Some(format!("{other:?}")),
            });
            Check {
                field,
                expected,
                ok: actual.as_deref() == Some(*expected),
                actual,
            }
        })
        .collect();
    if failure.is_none() {
        if item.is_none() {
            failure = Some(format!("no item {id} in {table}"));
        } else if let Some(c) = checks.iter().find(|c| !c.ok) {
            failure = Some(format!(
                "{} is {}, expected {}",
                c.field,
                c.actual.as_deref().unwrap_or("missing"),
                c.expected
            ));
        }
    }
    let report = SmokeReport {
        passed: failure.is_none(),
        transaction_id: id,
        failure,
        invoke_ms,
        read_ms,
        checks,
        invocation,
    };
    emit(config, &report);
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

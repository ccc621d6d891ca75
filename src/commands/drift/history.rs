//! `drift --record` and `drift history`: each run's report kept beside the
//! state (`state/history.rs`), and when each stack was last checked, whether
//! it drifted, which resources, and since when.

use super::super::{connect, emit, ExitStatus};
use super::{status_word, StackDrift};
use crate::config::Config;
use crate::engine::drift::{Status, DRIFT_FORMAT_VERSION};
use crate::names::Suffix;
use crate::providers::Aws;
use crate::state::history;
use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;

/// What one run found for one stack.
pub enum Recorded<'a> {
    Drift(&'a StackDrift),
    Failed(String),
}

/// Stores one stack's result of the run checked at `checked_at`.
pub async fn record(
    config: &Config,
    aws: &Aws,
    suffix: &Suffix,
    checked_at: &str,
    found: Recorded<'_>,
) -> Result<()> {
    let mut entry = match found {
        Recorded::Drift(d) => serde_json::to_value(d)?,
        Recorded::Failed(error) => json!({"suffix": suffix.as_str(), "error": error}),
    };
    entry["format_version"] = json!(DRIFT_FORMAT_VERSION);
    entry["checked_at"] = json!(checked_at);
    history::record(
        &config.backend,
        aws,
        suffix,
        &serde_json::to_vec_pretty(&entry)?,
    )
    .await?;
    Ok(())
}

/// One stack's history, summed up.
#[derive(Serialize)]
struct StackHistory {
    suffix: String,
    /// Runs recorded (at most 100 are kept).
    records: usize,
    last_checked: Option<String>,
    /// `in_sync`, `drifted`, `error` (could not be checked), or `never`.
    status: &'static str,
    /// The resources not in sync at the last check, as `resource (STATUS)`.
    resources: Vec<String>,
    error: Option<String>,
    /// The first check of the unbroken run of checks that found the same.
    since: Option<String>,
}

/// What a record found: its status and the resources not in sync.
fn finding(record: &Value) -> (&'static str, Vec<String>) {
    if record.get("error").is_some() {
        return ("error", vec![]);
    }
    let resources: Vec<String> = record["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let status: Status = serde_json::from_value(r["status"].clone()).ok()?;
            (status != Status::InSync).then(|| {
                format!(
                    "{} ({})",
                    r["resource"].as_str().unwrap_or_default(),
                    status_word(status)
                )
            })
        })
        .collect();
    let status = if resources.is_empty() {
        "in_sync"
    } else {
        "drifted"
    };
    (status, resources)
}

fn summarize(suffix: &Suffix, records: &[Value]) -> StackHistory {
    let Some(last) = records.last() else {
        return StackHistory {
            suffix: suffix.to_string(),
            records: 0,
            last_checked: None,
            status: "never",
            resources: vec![],
            error: None,
            since: None,
        };
    };
    let found = finding(last);
    let since = records
        .iter()
        .rev()
        .take_while(|r| finding(r) == found)
        .last()
        .and_then(|r| r["checked_at"].as_str())
        .map(str::to_owned);
    StackHistory {
        suffix: suffix.to_string(),
        records: records.len(),
        last_checked: last["checked_at"].as_str().map(str::to_owned),
        status: found.0,
        resources: found.1,
        error: last["error"].as_str().map(str::to_owned),
        since,
    }
}

#[derive(Serialize)]
struct HistoryReport {
    stacks: Vec<StackHistory>,
}

impl fmt::Display for HistoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stacks.is_empty() {
            return writeln!(f, "No drift history: `drift --record` stores one.");
        }
        let width = self
            .stacks
            .iter()
            .map(|s| s.suffix.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:<width$}  {:<20}  {:<8}  {:<20}  {:>4}  WHAT",
            "STACK", "LAST CHECKED", "STATUS", "SINCE", "RUNS"
        )?;
        for s in &self.stacks {
            let what = match (&s.error, s.resources.is_empty()) {
                (Some(e), _) => e.lines().next().unwrap_or_default().to_owned(),
                (None, false) => s.resources.join(", "),
                (None, true) => String::new(),
            };
            writeln!(
                f,
                "{:<width$}  {:<20}  {:<8}  {:<20}  {:>4}  {what}",
                s.suffix,
                s.last_checked.as_deref().unwrap_or("-"),
                s.status.replace('_', " "),
                s.since.as_deref().unwrap_or("-"),
                s.records,
            )?;
        }
        Ok(())
    }
}

/// `drift history [--all]`.
pub async fn history(config: &Config, all: bool) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let suffixes = if all {
        history::stacks(&config.backend, &aws).await?
    } else {
        vec![config.suffix.clone()]
    };
    let mut stacks = Vec::new();
    for suffix in &suffixes {
        let records = history::load(&config.backend, &aws, suffix).await?;
        stacks.push(summarize(suffix, &records));
    }
    emit(config, &HistoryReport { stacks });
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(at: &str, drifted: &[(&str, &str)]) -> Value {
        let resources: Vec<Value> = ["kms_key", "log_group", "table"]
            .iter()
            .map(|r| {
                let status = drifted
                    .iter()
                    .find(|(name, _)| name == r)
                    .map_or("IN_SYNC", |(_, s)| s);
                json!({"resource": r, "status": status})
            })
            .collect();
        json!({"checked_at": at, "resources": resources})
    }

    #[test]
    fn the_summary_says_since_when_the_stack_has_been_as_it_is_now() {
        let suffix = Suffix::parse("prod").unwrap();
        let records = vec![
            run("2026-12-07T10:00:00Z", &[]),
            run("2026-12-07T11:00:00Z", &[("table", "DELETED")]),
            run("2026-12-07T12:00:00Z", &[("log_group", "MODIFIED")]),
            run("2026-12-07T13:00:00Z", &[("log_group", "MODIFIED")]),
        ];
        let s = summarize(&suffix, &records);
        assert_eq!(s.status, "drifted");
        assert_eq!(s.resources, ["log_group (MODIFIED)"]);
        assert_eq!(s.since.as_deref(), Some("2026-12-07T12:00:00Z"));
        assert_eq!(s.last_checked.as_deref(), Some("2026-12-07T13:00:00Z"));
        assert_eq!(s.records, 4);

        let mut failed = records.clone();
        failed.push(json!({"checked_at": "2026-12-07T14:00:00Z", "error": "AccessDenied"}));
        let s = summarize(&suffix, &failed);
        assert_eq!(
            (s.status, s.error.as_deref()),
            ("error", Some("AccessDenied"))
        );
        assert_eq!(s.since.as_deref(), Some("2026-12-07T14:00:00Z"));

        assert_eq!(summarize(&suffix, &[]).status, "never");
    }
}

//! `drift merge FILE...`: the JSON reports of several drift runs (the
//! shards of a fleet, or single stacks) joined into one report.

use super::{finish, AllDriftReport, Checked, StackDrift};
use crate::cli::DriftFormat;
use crate::config::Config;
use crate::engine::drift::DRIFT_FORMAT_VERSION;
use crate::providers::CallCounts;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a report file holds: `drift --all --json`'s stacks, or one stack
/// (`drift --json`).
#[derive(Deserialize)]
struct Report {
    format_version: u32,
    checked_at: String,
    #[serde(default)]
    stacks: Option<Vec<Checked>>,
    #[serde(flatten)]
    one: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    aws_calls: Option<CallCounts>,
}

fn read(file: &Path) -> Result<(String, Vec<Checked>, Option<CallCounts>)> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the drift report {}", file.display()))?;
    let not_a_report = || {
        format!(
            "{} is not a JSON drift report (made by `drift --json` or `drift --all --json`)",
            file.display()
        )
    };
    let report: Report = serde_json::from_str(&text).with_context(not_a_report)?;
    if report.format_version != DRIFT_FORMAT_VERSION {
        bail!(
            "{} is a drift report of format {}; this version reads format {DRIFT_FORMAT_VERSION}",
            file.display(),
            report.format_version
        );
    }
    let stacks = match (report.stacks, report.one) {
        (Some(stacks), _) => stacks,
        (None, Some(one)) => {
            let stack: StackDrift = serde_json::from_value(serde_json::Value::Object(one))
                .with_context(not_a_report)?;
            vec![Checked::Drift(stack)]
        }
        (None, None) => bail!(not_a_report()),
    };
    Ok((report.checked_at, stacks, report.aws_calls))
}

fn suffix(c: &Checked) -> &str {
    match c {
        Checked::Drift(d) => &d.suffix,
        Checked::Failed { suffix, .. } => suffix,
    }
}

fn add(total: &mut CallCounts, more: &CallCounts) {
    total.reads += more.reads;
    total.writes += more.writes;
    total.attempts += more.attempts;
    total.throttled += more.throttled;
    for (k, n) in &more.throttled_by_service {
        *total.throttled_by_service.entry(k.clone()).or_default() += n;
    }
    for (k, n) in &more.by_operation {
        *total.by_operation.entry(k.clone()).or_default() += n;
    }
}

/// Joins `files`; a stack found in two of them is an error (shards never
/// overlap, so that means the same run was given twice, or two runs).
pub fn merge(
    config: &Config,
    files: &[PathBuf],
    format: DriftFormat,
    html: Option<&Path>,
) -> Result<super::super::ExitStatus> {
    let mut from: BTreeMap<String, &Path> = BTreeMap::new();
    let mut stacks = Vec::new();
    let mut checked_at = String::new();
    let mut calls = CallCounts::default();
    for file in files {
        let (at, found, counts) = read(file)?;
        // RFC 3339 in UTC: the latest sorts last.
        checked_at = checked_at.max(at);
        if let Some(c) = counts {
            add(&mut calls, &c);
        }
        for c in found {
            if let Some(first) = from.insert(suffix(&c).to_owned(), file) {
                bail!(
                    "stack {} is in both {} and {}: give each run's report once",
                    suffix(&c),
                    first.display(),
                    file.display()
                );
            }
            stacks.push(c);
        }
    }
    stacks.sort_by(|a, b| suffix(a).cmp(suffix(b)));
    let report = AllDriftReport {
        format_version: DRIFT_FORMAT_VERSION,
        checked_at,
        shard: None,
        drifted: false,
        stacks,
        aws_calls: calls,
    };
    finish(config, format, report, html)
}

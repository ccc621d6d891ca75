//! `drift`: compare every managed resource with what was last applied.
//! Read-only: no AWS write, no state write, no lock.

mod formats;
mod history;
mod html;
mod merge;
mod metrics;

pub use history::history;
pub use merge::merge;

use super::session::Session;
use super::{connect, emit, report_calls, ExitStatus};
use crate::cli::DriftFormat;
use crate::config::Config;
use crate::engine::drift::{
    detect, summarize, DriftSummary, ResourceDrift, Status, DRIFT_FORMAT_VERSION,
};
use crate::names::Suffix;
use crate::providers::{Aws, CallCounts};
use crate::stack::SettingsFrom;
use crate::stack::Stack;
use crate::state::StateStore;
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// One stack's drift, as `drift --json` prints it (schema in README).
#[derive(Serialize, serde::Deserialize)]
struct StackDrift {
    suffix: String,
    region: String,
    account: String,
    state_serial: u64,
    drifted: bool,
    summary: DriftSummary,
    resources: Vec<ResourceDrift>,
}

/// `drift`: one stack.
#[derive(Serialize)]
struct DriftReport {
    format_version: u32,
    checked_at: String,
    #[serde(flatten)]
    stack: StackDrift,
    aws_calls: CallCounts,
}

impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.stack.fmt(f)
    }
}

/// One stack of `drift --all`: its drift, or why it could not be checked.
#[derive(Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Checked {
    Drift(StackDrift),
    Failed { suffix: String, error: String },
}

/// `drift --all`.
#[derive(Serialize)]
struct AllDriftReport {
    format_version: u32,
    checked_at: String,
    /// `--shard I/N`: the part of the stacks this report covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
    drifted: bool,
    stacks: Vec<Checked>,
    aws_calls: CallCounts,
}

impl AllDriftReport {
    fn counts(&self) -> (usize, usize) {
        let drifted = self
            .stacks
            .iter()
            .filter(|s| matches!(s, Checked::Drift(d) if d.drifted))
            .count();
        let failed = self
            .stacks
            .iter()
            .filter(|s| matches!(s, Checked::Failed { .. }))
            .count();
        (drifted, failed)
    }
}

impl fmt::Display for AllDriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for stack in &self.stacks {
            match stack {
                Checked::Drift(d) => writeln!(f, "== stack {}\n{d}", d.suffix)?,
                Checked::Failed { suffix, error } => {
                    writeln!(f, "== stack {suffix}\nError: {error}\n")?
                }
            }
        }
        let (drifted, failed) = self.counts();
        writeln!(
            f,
            "{} stack(s): {drifted} drifted, {failed} could not be checked.",
            self.stacks.len()
        )
    }
}

/// Resources drifted or deleted.
fn drifted_count(d: &StackDrift) -> usize {
    d.summary.modified + d.summary.deleted
}

fn now() -> String {
    crate::ambient::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::InSync => "IN_SYNC",
        Status::Modified => "MODIFIED",
        Status::Deleted => "DELETED",
    }
}

async fn check(aws: &Aws, store: Arc<dyn StateStore>, suffix: &Suffix) -> Result<StackDrift> {
    let location = store.location();
    let stack = Stack::load(
        aws,
        store,
        suffix,
        String::new(),
        SettingsFrom::Flags(Default::default()),
    )
    .await?;
    let Some(state) = stack.state.as_ref() else {
        bail!(
            "no state at {location}: the stack {suffix} has not been applied, so there is nothing to compare"
        );
    };
    let resources = detect(state, &stack.observed);
    let summary = summarize(&resources);
    Ok(StackDrift {
        suffix: suffix.to_string(),
        region: state.region.clone(),
        account: state.account.clone(),
        state_serial: state.serial,
        drifted: summary.modified + summary.deleted > 0,
        summary,
        resources,
    })
}

impl fmt::Display for StackDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .resources
            .iter()
            .map(|r| r.resource.len())
            .max()
            .unwrap_or(0);
        for r in &self.resources {
            writeln!(
                f,
                "{:<width$}  {:<8}  {} {}",
                r.resource,
                status_word(r.status),
                r.kind,
                r.id
            )?;
            for p in &r.drifted_properties {
                writeln!(
                    f,
                    "    {}: expected {}, actual {}",
                    p.path, p.expected, p.actual
                )?;
            }
        }
        let s = self.summary;
        writeln!(
            f,
            "\nDrift: {} in sync, {} modified, {} deleted.",
            s.in_sync, s.modified, s.deleted
        )?;
        if self.drifted {
            writeln!(
                f,
                "Run `webhook-stack plan` to see the changes that undo it, and `apply` to make them."
            )?;
        }
        Ok(())
    }
}

/// Prints `stacks` as `format` says (`Text` and `--json`: the report's own).
fn print_as(format: DriftFormat, checked_at: &str, stacks: &[Checked]) {
    let text = match format {
        DriftFormat::Junit => formats::junit(checked_at, stacks),
        DriftFormat::Markdown => formats::markdown(checked_at, stacks),
        DriftFormat::Text => return,
    };
    print!("{text}");
}

pub async fn run(
    config: &Config,
    format: DriftFormat,
    publish: bool,
    record: bool,
    html: Option<&std::path::Path>,
) -> Result<ExitStatus> {
    let Session { aws, store } = Session::open(config).await;
    let stack = check(&aws, store, &config.suffix).await;
    let checked_at = now();
    if record {
        let checked = match &stack {
            Ok(d) => history::Recorded::Drift(d),
            Err(e) => history::Recorded::Failed(format!("{e:#}")),
        };
        history::record(config, &aws, &config.suffix, &checked_at, checked).await?;
    }
    if publish {
        let drifted = stack.as_ref().ok().map(drifted_count);
        metrics::publish(&aws, &[(config.suffix.to_string(), drifted)]).await?;
    }
    let stack = match (format, stack) {
        (DriftFormat::Text, stack) => stack?,
        // A report for CI says that the check failed, as an error.
        (_, Err(e)) => {
            let failed = Checked::Failed {
                suffix: config.suffix.to_string(),
                error: format!("{e:#}"),
            };
            print_as(format, &checked_at, &[failed]);
            return Ok(ExitStatus::Failure);
        }
        (_, Ok(stack)) => stack,
    };
    let mut report = DriftReport {
        format_version: DRIFT_FORMAT_VERSION,
        checked_at,
        stack,
        aws_calls: aws.calls.counts(),
    };
    let (drifted, calls) = (report.stack.drifted, report.aws_calls.clone());
    if let Some(file) = html {
        let stacks = [Checked::Drift(report.stack)];
        write_page(file, &report.checked_at, &stacks)?;
        let [Checked::Drift(stack)] = stacks else {
            unreachable!("one stack")
        };
        report.stack = stack;
    }
    if format == DriftFormat::Text {
        emit(config, &report);
    } else {
        print_as(format, &report.checked_at, &[Checked::Drift(report.stack)]);
    }
    report_calls(config, &calls);
    Ok(if drifted {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// Every stack in the backend, 16 at a time. Exit 1 if any check failed,
/// else 2 if any stack drifted, else 0.
/// What `drift --all` does beside checking.
pub struct AllOptions {
    pub publish: bool,
    pub shard: Option<crate::cli::Shard>,
    pub record: bool,
    pub html: Option<std::path::PathBuf>,
}

/// Writes the HTML page of `stacks` to `file`.
fn write_page(file: &std::path::Path, checked_at: &str, stacks: &[Checked]) -> Result<()> {
    std::fs::write(file, html::page(checked_at, stacks))
        .map_err(|e| anyhow::anyhow!("cannot write the drift page {}: {e}", file.display()))
}

pub async fn run_all(config: &Config, format: DriftFormat, opts: AllOptions) -> Result<ExitStatus> {
    let AllOptions {
        publish,
        shard,
        record,
        html,
    } = opts;
    let aws = connect(config).await;
    let suffixes: Vec<Suffix> = config
        .backend
        .list(&aws)
        .await?
        .into_iter()
        .filter(|s| shard.is_none_or(|sh| sh.contains(s.as_str())))
        .collect();
    let aws = super::surveying(aws, &suffixes);
    let checks = suffixes
        .iter()
        .map(|s| check(&aws, config.backend.open(s, &aws), s))
        .collect::<Vec<_>>();
    let results = super::at_most(super::STACKS_AT_ONCE, checks).await;
    let stacks: Vec<Checked> = suffixes
        .iter()
        .zip(results)
        .map(|(suffix, result)| match result {
            Ok(d) => Checked::Drift(d),
            Err(e) => Checked::Failed {
                suffix: suffix.to_string(),
                error: format!("{e:#}"),
            },
        })
        .collect();
    if publish {
        let results: Vec<(String, Option<usize>)> = stacks
            .iter()
            .map(|c| match c {
                Checked::Drift(d) => (d.suffix.clone(), Some(drifted_count(d))),
                Checked::Failed { suffix, .. } => (suffix.clone(), None),
            })
            .collect();
        metrics::publish(&aws, &results).await?;
    }
    let checked_at = now();
    if record {
        for (suffix, c) in suffixes.iter().zip(&stacks) {
            let checked = match c {
                Checked::Drift(d) => history::Recorded::Drift(d),
                Checked::Failed { error, .. } => history::Recorded::Failed(error.clone()),
            };
            history::record(config, &aws, suffix, &checked_at, checked).await?;
        }
    }
    let report = AllDriftReport {
        format_version: DRIFT_FORMAT_VERSION,
        checked_at,
        shard: shard.map(|s| s.to_string()),
        drifted: false,
        stacks,
        aws_calls: aws.calls.counts(),
    };
    finish(config, format, report, html.as_deref())
}

/// Prints a report over many stacks as `format` says; its exit status: 1
/// if a stack could not be checked, else 2 if one drifted, else 0.
fn finish(
    config: &Config,
    format: DriftFormat,
    mut report: AllDriftReport,
    html: Option<&std::path::Path>,
) -> Result<ExitStatus> {
    let (drifted, failed) = report.counts();
    report.drifted = drifted > 0;
    if let Some(file) = html {
        write_page(file, &report.checked_at, &report.stacks)?;
    }
    match format {
        DriftFormat::Text => emit(config, &report),
        _ => print_as(format, &report.checked_at, &report.stacks),
    }
    report_calls(config, &report.aws_calls);
    Ok(if failed > 0 {
        ExitStatus::Failure
    } else if drifted > 0 {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

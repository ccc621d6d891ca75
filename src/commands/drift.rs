//! `drift`: compare every managed resource with what was last applied.
//! Read-only: no AWS write, no state write, no lock.

use super::{connect, print_json, report_calls, ExitStatus};
use crate::config::Config;
use crate::engine::drift::{
    detect, summarize, DriftSummary, ResourceDrift, Status, DRIFT_FORMAT_VERSION,
};
use crate::names::Suffix;
use crate::providers::{Aws, CallCounts};
use crate::stack::Stack;
use crate::state::StateFile;
use anyhow::{bail, Result};
use serde::Serialize;

/// One stack's drift, as `drift --json` prints it (schema in README).
#[derive(Serialize)]
struct StackDrift {
    suffix: String,
    region: String,
    account: String,
    state_serial: u64,
    drifted: bool,
    summary: DriftSummary,
    resources: Vec<ResourceDrift>,
}

#[derive(Serialize)]
struct DriftReport<'a> {
    format_version: u32,
    checked_at: String,
    #[serde(flatten)]
    stack: &'a StackDrift,
    aws_calls: CallCounts,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::InSync => "IN_SYNC",
        Status::Modified => "MODIFIED",
        Status::Deleted => "DELETED",
    }
}

async fn check(aws: &Aws, file: StateFile, suffix: &Suffix) -> Result<StackDrift> {
    if file.load()?.is_none() {
        bail!(
            "no state at {}: the stack {suffix} has not been applied, so there is nothing to compare",
            file.path.display()
        );
    }
    let stack = Stack::load(aws, file, suffix, String::new(), Default::default()).await?;
    let state = stack.state.as_ref().expect("state was loaded above");
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

fn print_text(d: &StackDrift) {
    let width = d
        .resources
        .iter()
        .map(|r| r.resource.len())
        .max()
        .unwrap_or(0);
    for r in &d.resources {
        println!(
            "{:<width$}  {:<8}  {} {}",
            r.resource,
            status_word(r.status),
            r.kind,
            r.id
        );
        for p in &r.drifted_properties {
            println!(
                "    {}: expected {}, actual {}",
                p.path, p.expected, p.actual
            );
        }
    }
    let s = d.summary;
    println!(
        "\nDrift: {} in sync, {} modified, {} deleted.",
        s.in_sync, s.modified, s.deleted
    );
    if d.drifted {
        println!(
            "Run `webhook-stack plan` to see the changes that undo it, and `apply` to make them."
        );
    }
}

pub async fn run(config: &Config) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let d = check(&aws, config.state.clone(), &config.suffix).await?;
    let calls = aws.calls.counts();
    if config.json {
        print_json(&DriftReport {
            format_version: DRIFT_FORMAT_VERSION,
            checked_at: now(),
            stack: &d,
            aws_calls: calls.clone(),
        });
    } else {
        print_text(&d);
    }
    report_calls(config, &calls);
    Ok(if d.drifted {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// Every stack in the state directory, concurrently. Exit 1 if any check
/// failed, else 2 if any stack drifted, else 0.
pub async fn run_all(config: &Config) -> Result<ExitStatus> {
    let dir = config
        .state
        .path
        .parent()
        .expect("state file has a directory");
    let suffixes = crate::state::list_suffixes(dir)?;
    let aws = connect(config).await;
    let checks = suffixes
        .iter()
        .map(|s| check(&aws, StateFile::new(dir, s.as_str()), s));
    let results = futures_util::future::join_all(checks).await;
    let calls = aws.calls.counts();
    let (mut errors, mut drifted) = (0, 0);
    let mut stacks = Vec::new();
    for (suffix, result) in suffixes.iter().zip(&results) {
        match result {
            Ok(d) => {
                drifted += usize::from(d.drifted);
                stacks.push(serde_json::to_value(d).expect("serialisable"));
                if !config.json {
                    println!("== stack {suffix}");
                    print_text(d);
                    println!();
                }
            }
            Err(e) => {
                errors += 1;
                stacks.push(
                    serde_json::json!({"suffix": suffix.as_str(), "error": format!("{e:#}")}),
                );
                if !config.json {
                    println!("== stack {suffix}\nError: {e:#}\n");
                }
            }
        }
    }
    if config.json {
        print_json(&serde_json::json!({
            "format_version": DRIFT_FORMAT_VERSION,
            "checked_at": now(),
            "drifted": drifted > 0,
            "stacks": stacks,
            "aws_calls": calls,
        }));
    } else {
        println!(
            "{} stack(s): {} drifted, {} could not be checked.",
            suffixes.len(),
            drifted,
            errors
        );
    }
    report_calls(config, &calls);
    Ok(if errors > 0 {
        ExitStatus::Failure
    } else if drifted > 0 {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

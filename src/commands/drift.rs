//! `drift`: compare every managed resource with what was last applied.
//! Read-only: no AWS write, no state write, no lock.

use super::{connect, print_json, report_calls, ExitStatus};
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
use std::sync::Arc;

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
    let store = config.backend.open(&config.suffix, &aws);
    let d = check(&aws, store, &config.suffix).await?;
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
    let aws = connect(config).await;
    let suffixes = config.backend.list(&aws).await?;
    let checks = suffixes
        .iter()
        .map(|s| check(&aws, config.backend.open(s, &aws), s));
    let results = super::at_most(super::STACKS_AT_ONCE, checks).await;
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

//! `drift`: compare every managed resource with what was last applied.
//! Read-only: no AWS write, no state write, no lock.

use super::{connect, print_json, report_calls, ExitStatus};
use crate::config::Config;
use crate::engine::drift::{
    detect, summarize, DriftSummary, ResourceDrift, Status, DRIFT_FORMAT_VERSION,
};
use crate::providers::CallCounts;
use crate::stack::Stack;
use anyhow::{bail, Result};
use serde::Serialize;

/// `drift --json`: stable, documented in README.
#[derive(Serialize)]
struct DriftReport<'a> {
    format_version: u32,
    checked_at: String,
    suffix: &'a str,
    region: &'a str,
    account: &'a str,
    state_serial: u64,
    drifted: bool,
    summary: DriftSummary,
    resources: &'a [ResourceDrift],
    aws_calls: CallCounts,
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::InSync => "IN_SYNC",
        Status::Modified => "MODIFIED",
        Status::Deleted => "DELETED",
    }
}

pub async fn run(config: &Config) -> Result<ExitStatus> {
    if config.state.load()?.is_none() {
        bail!(
            "no state at {}: the stack {} has not been applied, so there is nothing to compare",
            config.state.path.display(),
            config.suffix
        );
    }
    let aws = connect(config).await;
    let stack = Stack::load(
        &aws,
        config.state.clone(),
        &config.suffix,
        String::new(),
        Default::default(),
    )
    .await?;
    let state = stack.state.as_ref().expect("state was loaded above");
    let resources = detect(state, &stack.observed);
    let summary = summarize(&resources);
    let drifted = summary.modified + summary.deleted > 0;
    let calls = aws.calls.counts();
    if config.json {
        print_json(&DriftReport {
            format_version: DRIFT_FORMAT_VERSION,
            checked_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            suffix: config.suffix.as_str(),
            region: &state.region,
            account: &state.account,
            state_serial: state.serial,
            drifted,
            summary,
            resources: &resources,
            aws_calls: calls.clone(),
        });
    } else {
        let width = resources
            .iter()
            .map(|r| r.resource.len())
            .max()
            .unwrap_or(0);
        for r in &resources {
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
        println!(
            "\nDrift: {} in sync, {} modified, {} deleted.",
            summary.in_sync, summary.modified, summary.deleted
        );
        if drifted {
            println!("Run `webhook-stack plan` to see the changes that undo it, and `apply` to make them.");
        }
    }
    report_calls(config, &calls);
    Ok(if drifted {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

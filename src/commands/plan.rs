//! `plan`: what apply would change.

use super::{code_package, connect, print_json, print_plan, report_calls, ExitStatus};
use crate::config::CodeSource;
use crate::config::Config;
use crate::engine::plan::Plan;
use crate::providers::CallCounts;
use crate::settings::Values;
use crate::stack::{SettingsFrom, Stack};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `plan --json`: the plan and the AWS calls it took.
#[derive(Serialize)]
pub struct PlanReport<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// What would make apply fail although the plan is valid (account
    /// limits).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
    pub aws_calls: CallCounts,
}

/// A plan saved by `plan --out`, with the code it was made for (the plan
/// carries its settings).
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub plan: Plan,
    pub code_sha256: String,
}

pub async fn run(
    config: &Config,
    code: &CodeSource,
    given: &Values,
    replace: &[String],
    detailed: bool,
    out: Option<&Path>,
) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let store = config.backend.open(&config.suffix, &aws);
    // A saved plan needs the exact code; a plan to read may go without it.
    let code_sha256 = match out {
        Some(_) => code_package(code)?.code_sha256,
        None => super::code_for_plan(code, store.as_ref()).await?,
    };
    let stack = Stack::load(
        &aws,
        store,
        &config.suffix,
        code_sha256.clone(),
        SettingsFrom::Flags(given.clone()),
    )
    .await?;
    let plan = stack.plan(replace)?;
    let (mut warnings, store_warnings) =
        tokio::join!(stack.limit_warnings(&aws, &plan), stack.store.warnings());
    warnings.extend(store_warnings);
    if let Some(out) = out {
        let saved = SavedPlan {
            plan: plan.clone(),
            code_sha256,
        };
        let json = serde_json::to_vec_pretty(&saved).expect("plan serialises");
        std::fs::write(out, json)
            .with_context(|| format!("cannot write plan to {}", out.display()))?;
    }
    let calls = aws.calls.counts();
    if config.json {
        print_json(&PlanReport {
            plan: &plan,
            warnings: &warnings,
            aws_calls: calls.clone(),
        });
    } else {
        print_plan(config, &plan);
        print_warnings(&warnings);
        if let Some(out) = out {
            println!(
                "\nSaved the plan to {}; run `webhook-stack apply {}` to carry it out.",
                out.display(),
                out.display()
            );
        }
    }
    report_calls(config, &calls);
    Ok(if detailed && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// Warnings after the plan, where a reviewer reads them.
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        println!("\nWarning: {w}.");
    }
}

/// Plans every stack in the state directory, concurrently. Exit 1 if any
/// failed; with `--detailed-exitcode`, 2 if any has changes.
pub async fn run_all(
    config: &Config,
    code: &CodeSource,
    given: &Values,
    replace: &[String],
    detailed: bool,
) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let suffixes = config.backend.list(&aws).await?;
    let package = code_package(code)?;
    let loads = suffixes.iter().map(|s| {
        Stack::load(
            &aws,
            config.backend.open(s, &aws),
            s,
            package.code_sha256.clone(),
            SettingsFrom::Flags(given.clone()),
        )
    });
    let results = super::at_most(super::STACKS_AT_ONCE, loads).await;
    let calls = aws.calls.counts();
    let (mut errors, mut changed) = (0, 0);
    let mut stacks = Vec::new();
    for (suffix, result) in suffixes.iter().zip(results) {
        match result.and_then(|stack| stack.plan(replace)) {
            Ok(plan) => {
                changed += usize::from(plan.has_changes());
                if !config.json {
                    println!("== stack {suffix}");
                    print_plan(config, &plan);
                    println!();
                }
                stacks.push(serde_json::to_value(&plan).expect("serialisable"));
            }
            Err(e) => {
                errors += 1;
                if !config.json {
                    println!("== stack {suffix}\nError: {e:#}\n");
                }
                stacks.push(serde_json::json!({"suffix": suffix.as_str(), "error": e.to_string()}));
            }
        }
    }
    if config.json {
        print_json(&serde_json::json!({"stacks": stacks, "aws_calls": calls}));
    } else {
        println!(
            "{} stack(s): {} with changes, {} could not be planned.",
            suffixes.len(),
            changed,
            errors
        );
    }
    report_calls(config, &calls);
    Ok(if errors > 0 {
        ExitStatus::Failure
    } else if detailed && changed > 0 {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

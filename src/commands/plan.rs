//! `plan`: what apply would change.

use super::session::Session;
use super::{code_package, connect, emit, report_calls, ExitStatus};
use crate::config::CodeSource;
use crate::config::Config;
use crate::engine::plan::Plan;
use crate::providers::CallCounts;
use crate::render::Style;
use crate::settings::Values;
use crate::stack::{SettingsFrom, Stack};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// `plan`: the plan, its warnings and the AWS calls it took.
#[derive(Serialize)]
pub struct PlanReport<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// What would make apply fail although the plan is valid (account
    /// limits, a state bucket without versioning).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
    pub aws_calls: CallCounts,
    #[serde(skip)]
    pub style: Style,
    /// Where `--out` saved it.
    #[serde(skip)]
    pub saved_to: Option<&'a Path>,
}

impl fmt::Display for PlanReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::render::plan_text(self.plan, self.style))?;
        f.write_str(&warnings_text(self.warnings))?;
        if let Some(out) = self.saved_to {
            writeln!(
                f,
                "\nSaved the plan to {}; run `webhook-stack apply {}` to carry it out.",
                out.display(),
                out.display()
            )?;
        }
        Ok(())
    }
}

/// One stack of `plan --all`: its plan, or why it could not be planned.
#[derive(Serialize)]
#[serde(untagged)]
enum Planned {
    Plan(Plan),
    Failed { suffix: String, error: String },
}

/// `plan --all`.
#[derive(Serialize)]
struct AllPlansReport {
    stacks: Vec<Planned>,
    aws_calls: CallCounts,
    #[serde(skip)]
    style: Style,
}

impl AllPlansReport {
    fn counts(&self) -> (usize, usize) {
        let changed = self
            .stacks
            .iter()
            .filter(|s| matches!(s, Planned::Plan(p) if p.has_changes()))
            .count();
        let failed = self
            .stacks
            .iter()
            .filter(|s| matches!(s, Planned::Failed { .. }))
            .count();
        (changed, failed)
    }
}

impl fmt::Display for AllPlansReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for stack in &self.stacks {
            match stack {
                Planned::Plan(p) => writeln!(
                    f,
                    "== stack {}\n{}",
                    p.suffix,
                    crate::render::plan_text(p, self.style)
                )?,
                Planned::Failed { suffix, error } => {
                    writeln!(f, "== stack {suffix}\nError: {error}\n")?
                }
            }
        }
        let (changed, failed) = self.counts();
        writeln!(
            f,
            "{} stack(s): {changed} with changes, {failed} could not be planned.",
            self.stacks.len()
        )
    }
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
    let Session { aws, store } = Session::checking_limits(config).await;
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
    let report = PlanReport {
        plan: &plan,
        warnings: &warnings,
        aws_calls: aws.calls.counts(),
        style: super::style(config),
        saved_to: out,
    };
    emit(config, &report);
    report_calls(config, &report.aws_calls);
    Ok(if detailed && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// Warnings after the plan, where a reviewer reads them.
pub fn warnings_text(warnings: &[String]) -> String {
    warnings
        .iter()
        .map(|w| format!("\nWarning: {w}.\n"))
        .collect()
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
    let aws = super::surveying(aws, &suffixes);
    let package = code_package(code)?;
    // Collected, so that no closure over borrowed suffixes is held across
    // the await (the command's future must be `Send` to run as a task).
    let loads: Vec<_> = suffixes
        .iter()
        .map(|s| {
            Stack::load(
                &aws,
                config.backend.open(s, &aws),
                s,
                package.code_sha256.clone(),
                SettingsFrom::Flags(given.clone()),
            )
        })
        .collect();
    let results = super::at_most(super::STACKS_AT_ONCE, loads).await;
    let stacks = suffixes
        .iter()
        .zip(results)
        .map(
            |(suffix, result)| match result.and_then(|stack| stack.plan(replace)) {
                Ok(plan) => Planned::Plan(plan),
                Err(e) => Planned::Failed {
                    suffix: suffix.to_string(),
                    error: format!("{e:#}"),
                },
            },
        )
        .collect();
    let report = AllPlansReport {
        stacks,
        aws_calls: aws.calls.counts(),
        style: super::style(config),
    };
    emit(config, &report);
    report_calls(config, &report.aws_calls);
    let (changed, errors) = report.counts();
    Ok(if errors > 0 {
        ExitStatus::Failure
    } else if detailed && changed > 0 {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

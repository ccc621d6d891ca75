//! `destroy`: delete every resource of the stack, dependents first.

use super::session::Session;
use super::walk::{execute, report_outcome};
use super::{confirm, emit, print_json, print_plan, report_calls, ExitStatus};
use crate::config::{Config, Confirmation};
use crate::providers::Providers;
use crate::render::summary_line;
use crate::stack::{SettingsFrom, Stack};
use anyhow::Result;
use std::sync::Arc;

pub async fn run(config: &Config, opts: Confirmation, window_days: i32) -> Result<ExitStatus> {
    let parallelism = opts.parallelism;
    let (Session { aws, store }, lease) =
        Session::open(config).await.lock(config, "destroy").await?;
    // The code is not needed to delete a function.
    let stack = Stack::load(
        &aws,
        store,
        &config.suffix,
        String::new(),
        SettingsFrom::Flags(Default::default()),
    )
    .await?;
    let plan = stack.plan_destroy();
    stack.check_guards("destroy", &plan)?;
    let mut state = stack.state_or_new();
    // Resources recorded in state, or whose creation was pending, that do
    // not exist need no call: forget them. So does a pending creation whose
    // name someone else's resource holds now: nothing of the stack's is
    // there to delete.
    let someone_elses = |k: &String| {
        !state.resources.contains_key(k) && stack.foreign.iter().any(|f| &f.resource == k)
    };
    let gone: Vec<String> = state
        .resources
        .keys()
        .chain(state.pending.keys())
        .filter(|k| !stack.observed.contains_key(*k) || someone_elses(k))
        .cloned()
        .collect();
    let forget = |state: &mut crate::state::State| {
        for k in &gone {
            state.resources.remove(k);
            state.pending.remove(k);
        }
    };
    if !config.json {
        if plan.has_changes() {
            print_plan(config, &plan);
        } else {
            println!(
                "Nothing to destroy: no resource of stack {} exists.\n\n{}",
                config.suffix,
                summary_line(&plan.summary)
            );
        }
    }
    if !plan.has_changes() {
        if !gone.is_empty() {
            forget(&mut state);
            stack.store.save(&mut state, &lease).await?;
        }
        if config.json {
            print_json(
                &serde_json::json!({"plan": &plan, "succeeded": true, "aws_calls": aws.calls.counts()}),
            );
        }
        report_calls(config, &aws.calls.counts());
        return Ok(ExitStatus::Success);
    }
    if !confirm(
        opts.yes,
        "\nDo you really want to destroy all resources of this stack?",
    )? {
        eprintln!("Destroy cancelled.");
        return Ok(ExitStatus::Failure);
    }
    forget(&mut state);
    let providers = Providers {
        aws: aws.clone(),
        account: stack.ctx.account.clone(),
        code: Arc::new(Vec::new()),
        kms_deletion_window_days: window_days,
        pending_before: stack.pending_before(),
    };
    let report = execute(
        &stack,
        &plan,
        providers,
        parallelism,
        &mut state,
        &lease,
        config.verbose,
    )
    .await;
    let ok = report_outcome(&report);
    let report = DestroyReport {
        plan: &plan,
        succeeded: ok,
        aws_calls: aws.calls.counts(),
        window_days,
    };
    emit(config, &report);
    report_calls(config, &report.aws_calls);
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// `destroy`: what was planned and whether it all went through.
#[derive(serde::Serialize)]
struct DestroyReport<'a> {
    plan: &'a crate::engine::plan::Plan,
    succeeded: bool,
    aws_calls: crate::providers::CallCounts,
    #[serde(skip)]
    window_days: i32,
}

impl std::fmt::Display for DestroyReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.succeeded {
            return Ok(());
        }
        writeln!(
            f,
            "\nDestroy complete! Resources: {} destroyed. The KMS key is scheduled for deletion in {} days.",
            self.plan.summary.destroy, self.window_days
        )
    }
}

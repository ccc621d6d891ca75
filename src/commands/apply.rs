//! `apply`: carry out a fresh or saved plan.

use super::plan::{PlanReport, SavedPlan};
use super::session::Session;
use super::walk::{execute, report_outcome};
use super::{
    code_package, confirm, emit, outputs, print_json, print_plan, report_calls, ExitStatus,
};
use crate::config::{CodeSource, Config, Confirmation};
use crate::engine::model::Schema;
use crate::engine::plan::Action;
use crate::providers::Providers;
use crate::providers::Registry;
use crate::settings::Values;
use crate::stack::{SettingsFrom, Stack};
use crate::state::{Lease, State};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::Arc;

/// Reads a saved plan and checks what it carries as the flags would be
/// checked: a hand-edited file cannot smuggle in an invalid setting, take
/// away the stack's own tags, or name a resource the program lacks.
pub(super) fn load_saved(path: &Path) -> Result<SavedPlan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read plan file {}", path.display()))?;
    let saved: SavedPlan = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a plan saved by `plan --out`", path.display()))?;
    let invalid = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("plan file {}: {e}; nothing was changed", path.display())
    };
    let values = saved
        .plan
        .settings
        .iter()
        .map(|(k, u)| (k.clone(), u.value.clone()))
        .collect();
    crate::settings::resolve(&Default::default(), &values).map_err(|e| invalid(&e))?;
    crate::config::check_replace(&saved.plan.replace).map_err(|e| invalid(&e))?;
    Ok(saved)
}

pub async fn run(
    config: &Config,
    code: &CodeSource,
    given: &Values,
    replace: &[String],
    opts: Confirmation,
    plan_file: Option<&Path>,
) -> Result<ExitStatus> {
    let parallelism = opts.parallelism;
    if plan_file.is_some() && !replace.is_empty() {
        bail!("--replace cannot change a saved plan, which is applied as reviewed: make a new one with `plan --replace RESOURCE --out FILE`");
    }
    if plan_file.is_some() && !given.is_empty() {
        bail!("settings cannot change a saved plan, which is applied as reviewed with the settings it shows: make a new one with `plan --out FILE` and the flags");
    }
    let saved = plan_file.map(load_saved).transpose()?;
    // Built before the lock is taken: a cold cross build takes minutes, and
    // a team's lock must not wait on it.
    let package = code_package(code)?;
    let (Session { aws, store }, lease) = Session::checking_limits(config)
        .await
        .lock(config, "apply")
        .await?;
    // A saved plan carries the settings it was made with.
    let settings = match &saved {
        Some(s) => SettingsFrom::Plan(s.plan.settings.clone()),
        None => SettingsFrom::Flags(given.clone()),
    };
    let stack = Stack::load(
        &aws,
        store,
        &config.suffix,
        package.code_sha256.clone(),
        settings,
    )
    .await?;
    // A saved plan is re-made with the --replace it was made with.
    let replace = match &saved {
        Some(s) => s.plan.replace.as_slice(),
        None => replace,
    };
    let plan = stack.plan(replace)?;
    if let Some(saved) = &saved {
        // The saved plan is carried out only if planning now gives the same
        // steps against the same state and code: anything else means the
        // world moved on since it was reviewed.
        if saved.plan.suffix != plan.suffix
            || saved.plan.region != plan.region
            || saved.plan.account != plan.account
        {
            bail!(
                "the saved plan is for stack {} in {} (account {}), not this one",
                saved.plan.suffix,
                saved.plan.region,
                saved.plan.account
            );
        }
        if saved.plan.state_lineage != plan.state_lineage
            || saved.plan.state_serial != plan.state_serial
        {
            bail!(
                "the saved plan is stale: it was made against state serial {:?}, and the state is now at {:?}; run `plan` again",
                saved.plan.state_serial,
                plan.state_serial
            );
        }
        if saved.code_sha256 != package.code_sha256 || saved.plan.steps != plan.steps {
            bail!("the saved plan is stale: the live resources or the handler code changed since it was made; run `plan` again");
        }
    }
    let mut warnings = stack.limit_warnings(&aws, &plan).await;
    warnings.extend(stack.store.warnings().await);
    if !config.json {
        print_plan(config, &plan);
        print!("{}", super::plan::warnings_text(&warnings));
    }
    stack.check_guards("apply", &plan)?;
    let refused = plan.unsafe_steps(&Registry);
    if !refused.is_empty() {
        let list: Vec<String> = refused
            .iter()
            .map(|s| {
                format!(
                    "{} ({}) {}: that deletes {}",
                    s.resource,
                    s.id.as_deref().unwrap_or("-"),
                    if s.action == Action::Delete {
                        "would be deleted"
                    } else {
                        "would be replaced"
                    },
                    Registry.loses(s.kind).unwrap_or("what it holds")
                )
            })
            .collect();
        let names: Vec<String> = refused
            .iter()
            .map(|s| format!("--replace {}", s.resource))
            .collect();
        let again = if saved.is_some() {
            format!(
                "make the plan again with `plan {} --out FILE`",
                names.join(" ")
            )
        } else {
            format!("run apply again with {}", names.join(" "))
        };
        bail!(
            "apply refuses to delete data or keys outside `destroy`:\n  - {}\nNothing was changed. If this is really wanted, {again}; otherwise change the program (or the resource) back.",
            list.join("\n  - "),
        );
    }
    let providers = Providers {
        aws: aws.clone(),
        account: stack.ctx.account.clone(),
        code: Arc::new(package.zip),
        kms_deletion_window_days: 7,
        pending_before: stack.pending_before(),
    };
    if !plan.has_changes() {
        // Nothing to change in AWS, but state may still hold older values
        // than what is live (and wanted): record them, so that `drift`
        // agrees with the "No changes" just printed. No AWS call is made.
        if let Some(before) = &stack.state {
            let mut state = before.clone();
            if stack.forget_settled(&mut state) {
                stack.store.save(&mut state, &lease).await?;
            }
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
            if !report_outcome(&report) {
                return Ok(ExitStatus::Failure);
            }
            if state.serial != before.serial && !config.json {
                println!("State updated: it now records the live values, which match the program.");
            }
            save_settings(config, &stack, &mut state, &lease).await?;
        }
        if config.json {
            print_json(&PlanReport {
                plan: &plan,
                warnings: &warnings,
                aws_calls: aws.calls.counts(),
                style: super::style(config),
                saved_to: None,
            });
        }
        report_calls(config, &aws.calls.counts());
        return Ok(ExitStatus::Success);
    }
    if saved.is_none() && !confirm(opts.yes, "\nDo you want to perform these actions?")? {
        eprintln!("Apply cancelled.");
        return Ok(ExitStatus::Failure);
    }
    let mut state = stack.state_or_new();
    // Saved with the walk's first step.
    stack.forget_settled(&mut state);
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
    if ok {
        save_settings(config, &stack, &mut state, &lease).await?;
    }
    let report = ApplyReport {
        plan: &plan,
        warnings: &warnings,
        succeeded: ok,
        outputs: outputs::Outputs(outputs::outputs(&state)),
        aws_calls: aws.calls.counts(),
    };
    emit(config, &report);
    report_calls(config, &report.aws_calls);
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// `apply`: what was planned, whether it all went through, and the
/// stack's outputs.
#[derive(serde::Serialize)]
struct ApplyReport<'a> {
    plan: &'a crate::engine::plan::Plan,
    warnings: &'a [String],
    succeeded: bool,
    outputs: outputs::Outputs,
    aws_calls: crate::providers::CallCounts,
}

impl std::fmt::Display for ApplyReport<'_> {
    /// Failures were told on stderr as they happened; a success ends with
    /// the summary and the outputs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.succeeded {
            return Ok(());
        }
        let s = self.plan.summary;
        writeln!(
            f,
            "\nApply complete! Resources: {} added, {} changed, {} replaced, {} destroyed.\n\nOutputs:\n",
            s.add, s.change, s.replace, s.destroy
        )?;
        self.outputs.fmt(f)
    }
}

/// After a successful apply, the settings given as flags are saved with the
/// state (as `pulumi up --config` does), so that the next run without flags
/// keeps them.
async fn save_settings(
    config: &Config,
    stack: &Stack,
    state: &mut State,
    lease: &Lease,
) -> Result<()> {
    let flags = stack.flag_settings();
    let before = state.settings.clone();
    state.settings.extend(flags.clone());
    if state.settings == before {
        return Ok(());
    }
    stack.store.save(state, lease).await?;
    if !config.json {
        let list: Vec<String> = flags
            .iter()
            .map(|(k, v)| format!("{k} = {}", crate::settings::display(v)))
            .collect();
        println!("Saved settings: {}.", list.join(", "));
    }
    Ok(())
}

//! One module per command; each returns an exit status.

mod apply;
mod code;
mod destroy;
mod drift;
mod graph;
mod import;
mod invoke;
mod logs;
mod outputs;
mod package;
mod permissions;
mod plan;
mod printer;
mod refresh;
mod session;
mod settings;
mod smoke;
mod state;
mod unlock;
mod walk;

pub use code::{code_for_plan, code_package};
pub use printer::{confirm, emit, print_json, print_plan, report_calls, style};
pub use session::{connect, surveying};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::config::{CodeSource, Confirmation};
use crate::settings::from_flags;
use anyhow::Result;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Failure,
    /// `plan --detailed-exitcode` found changes.
    Changes,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes => 2,
        })
    }
}

pub async fn run(cli: Cli) -> Result<ExitStatus> {
    let config = Config::from_global(&cli.global)?;
    match cli.command {
        Command::Plan {
            code,
            tuning,
            replace,
            detailed_exitcode,
            out,
            all: false,
        } => {
            let replace = crate::config::check_replace(&replace.resources)?;
            let given = from_flags(&tuning.given)?;
            plan::run(
                &config,
                &CodeSource::from_cli(&code),
                &given,
                &replace,
                detailed_exitcode,
                out.as_deref(),
            )
            .await
        }
        Command::Plan {
            code,
            tuning,
            replace,
            detailed_exitcode,
            all: true,
            ..
        } => {
            let replace = crate::config::check_replace(&replace.resources)?;
            let given = from_flags(&tuning.given)?;
            plan::run_all(
                &config,
                &CodeSource::from_cli(&code),
                &given,
                &replace,
                detailed_exitcode,
            )
            .await
        }
        Command::Apply {
            code,
            tuning,
            replace,
            confirm,
            plan_file,
        } => {
            let replace = crate::config::check_replace(&replace.resources)?;
            let given = from_flags(&tuning.given)?;
            let confirmation = Confirmation::from_cli(&confirm)?;
            apply::run(
                &config,
                &CodeSource::from_cli(&code),
                &given,
                &replace,
                confirmation,
                plan_file.as_deref(),
            )
            .await
        }
        Command::Destroy {
            confirm,
            kms_deletion_window_days,
        } => {
            let confirmation = Confirmation::from_cli(&confirm)?;
            let window = crate::config::check_deletion_window(kms_deletion_window_days)?;
            destroy::run(&config, confirmation, window).await
        }
        Command::Drift {
            action:
                Some(crate::cli::DriftAction::Merge {
                    files,
                    format,
                    html,
                }),
            ..
        } => drift::merge(&config, &files, format, html.as_deref()),
        Command::Drift {
            action: Some(crate::cli::DriftAction::History { all }),
            ..
        } => drift::history(&config, all).await,
        Command::Drift {
            all: false,
            format,
            publish_metric,
            record,
            html,
            ..
        } => drift::run(&config, format, publish_metric, record, html.as_deref()).await,
        Command::Drift {
            all: true,
            format,
            publish_metric,
            shard,
            record,
            html,
            ..
        } => {
            let opts = drift::AllOptions {
                publish: publish_metric,
                shard,
                record,
                html,
            };
            drift::run_all(&config, format, opts).await
        }
        Command::Refresh {
            resources,
            settings,
            yes,
        } => refresh::run(&config, &resources, settings, yes).await,
        Command::Outputs => outputs::run(&config).await,
        Command::Permissions {
            read_only,
            all,
            account,
            tuning,
        } => {
            let given = from_flags(&tuning.given)?;
            permissions::run(&config, read_only, all, account, &given).await
        }
        Command::Completions { shell } => {
            let mut cli = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cli, "webhook-stack", &mut script);
            // A reader that stops early (`| head`) is not an error.
            match std::io::stdout().write_all(&script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(ExitStatus::Success),
            }
        }
        Command::Invoke {
            payload,
            seed_event,
            runner,
        } => invoke::run(&config, payload.as_deref(), seed_event, &runner).await,
        Command::Smoke {
            transaction_id,
            runner,
        } => smoke::run(&config, transaction_id.as_deref(), &runner).await,
        Command::Logs {
            since,
            follow,
            filter,
        } => logs::run(&config, &since, follow, filter.as_deref()).await,
        Command::Graph { format, plan_file } => graph::run(&config, format, plan_file.as_deref()),
        Command::Import => import::run(&config).await,
        Command::Package { out, handler_dir } => {
            package::run(&config, &out, handler_dir.as_deref())
        }
        Command::ForceUnlock { lock_id } => unlock::run(&config, lock_id.as_deref()).await,
        Command::Config { action } => settings::run(&config, action).await,
        Command::State { action } => state::run(&config, action).await,
    }
}

/// Stacks read at once by `plan --all` and `drift --all`: enough to keep
/// every service's calls-in-flight limit busy, few enough that a call never
/// queues long behind the others (its wait counts toward its timeout).
pub const STACKS_AT_ONCE: usize = 16;

/// Runs the futures, at most `n` at a time, keeping their order.
pub async fn at_most<F: std::future::Future>(
    n: usize,
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    use futures_util::StreamExt;
    futures_util::stream::iter(futures)
        .buffered(n)
        .collect()
        .await
}

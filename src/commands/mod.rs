//! One module per command; each returns an exit status.

mod apply;
mod destroy;
mod drift;
mod graph;
mod import;
mod outputs;
mod plan;
mod settings;
mod state;
mod walk;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::config::{CodeSource, Confirmation};
use crate::package::{self, Package};
use crate::providers::{Aws, CallCounts};
use crate::settings::from_flags;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

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
            let given = from_flags(&tuning)?;
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
            let given = from_flags(&tuning)?;
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
            let given = from_flags(&tuning)?;
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
        Command::Drift { all: false } => drift::run(&config).await,
        Command::Drift { all: true } => drift::run_all(&config).await,
        Command::Outputs => outputs::run(&config).await,
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
        Command::Graph { format, plan_file } => graph::run(&config, format, plan_file.as_deref()),
        Command::Import => import::run(&config).await,
        Command::Package { out, handler_dir } => {
            // Always built: `package` is the explicit build (and the
            // artifact checks' reproducibility test relies on it).
            let root = checkout_root(handler_dir.as_deref())?;
            let exe = package::build_handler(&root)?;
            let package = package::package_executable(&exe)?;
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(&out, &package.zip)
                .with_context(|| format!("cannot write {}", out.display()))?;
            if config.json {
                print_json(&serde_json::json!({
                    "zip": out,
                    "size": package.zip.len(),
                    "code_sha256": package.code_sha256,
                }));
            } else {
                println!(
                    "{} ({} bytes), CodeSha256 {}",
                    out.display(),
                    package.zip.len(),
                    package.code_sha256
                );
            }
            Ok(ExitStatus::Success)
        }
        Command::ForceUnlock { lock_id } => {
            let aws = connect(&config).await;
            let store = config.backend.open(&config.suffix, &aws);
            match store.force_unlock(lock_id.as_deref()).await? {
                crate::state::Unlocked::Cleared(h) => eprintln!(
                    "Removed the lock of {} left by {h}, which is no longer running.",
                    store.location()
                ),
                crate::state::Unlocked::NotLocked => {
                    eprintln!("{} is not locked.", store.location())
                }
            }
            Ok(ExitStatus::Success)
        }
        Command::Config { action } => settings::run(&config, action).await,
        Command::State { action } => state::run(&config, action).await,
    }
}

pub async fn connect(config: &Config) -> Aws {
    Aws::connect(&config.connection).await
}

/// The clients for reading the stacks `suffixes` all in one run: what can
/// be listed for all of them is listed once (`providers/survey.rs`).
pub fn surveying(aws: Aws, suffixes: &[crate::names::Suffix]) -> Aws {
    let names: Vec<_> = suffixes.iter().map(|s| s.names()).collect();
    aws.surveying(
        names.iter().map(|n| n.log_group.as_str()),
        names.iter().map(|n| n.role.as_str()),
    )
}

/// The function's code: the given zip, or handler/ built for arm64 and zipped
/// (reused from the cache while nothing it is built from has changed).
pub fn code_package(code: &CodeSource) -> Result<Package> {
    match code {
        CodeSource::Zip(path) => {
            let zip = package::read_file(path)?;
            package::bootstrap_from_zip(&zip)
                .with_context(|| format!("{} is not a Lambda code package", path.display()))?;
            Ok(Package {
                code_sha256: package::code_sha256(&zip),
                zip,
            })
        }
        CodeSource::Checkout(dir) => {
            let root = checkout_root(dir.as_deref())?;
            Ok(package::cache::build_or_reuse(&root)?.0)
        }
    }
}

/// The code's identity for a `plan`: as `code_package`, except that when
/// the handler is not built yet (a fresh clone: minutes of cross build) and
/// the stack's state records no function, the plan does not wait for it —
/// the function is new, so its code is shown as known after apply, and
/// apply builds and deploys exactly what it builds.
pub async fn code_for_plan(
    code: &CodeSource,
    store: &dyn crate::state::StateStore,
) -> Result<String> {
    if let CodeSource::Checkout(dir) = code {
        let root = checkout_root(dir.as_deref())?;
        if let Some(package) = package::cache::cached(&root)? {
            return Ok(package.code_sha256);
        }
        let recorded = store
            .load()
            .await?
            .is_some_and(|s| s.resources.contains_key(crate::program::FUNCTION));
        if !recorded {
            eprintln!(
                "The handler is not built yet and the function does not exist: planning without its code (apply builds it; `webhook-stack package` builds it now)."
            );
            return Ok(crate::engine::expr::UNKNOWN.to_owned());
        }
    }
    Ok(code_package(code)?.code_sha256)
}

/// The checkout whose handler/ is built: found at run time, never through
/// a path compiled into the binary, so a release binary copied elsewhere
/// says what it needs instead of building someone else's tree.
fn checkout_root(handler_dir: Option<&Path>) -> Result<PathBuf> {
    let is_checkout = |root: &Path| {
        root.join("handler/Cargo.toml").is_file() && root.join(package::BUILD_SCRIPT).is_file()
    };
    if let Some(dir) = handler_dir {
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("--handler-dir {}", dir.display()))?;
        match dir.parent() {
            Some(root) if dir.join("Cargo.toml").is_file() && is_checkout(root) => {
                return Ok(root.to_owned())
            }
            _ => bail!(
                "--handler-dir {}: not the handler/ crate of a webhook-stack checkout (expected Cargo.toml there and {} beside it)",
                dir.display(),
                package::BUILD_SCRIPT
            ),
        }
    }
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    cwd.ancestors()
        .find(|d| is_checkout(d))
        .map(Path::to_owned)
        .with_context(|| {
            format!(
                "no handler/ to build: neither {} nor a directory above it is a webhook-stack checkout. \
                 Pass --handler-zip PATH (a zip made by `webhook-stack package`) or --handler-dir DIR (the handler crate)",
                cwd.display()
            )
        })
}

/// Asks on a terminal; elsewhere requires `--yes`.
pub fn confirm(yes: bool, question: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("stdin is not a terminal, so there is no one to confirm: pass --yes to go ahead");
    }
    eprint!("{question} Only 'yes' will be accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

pub fn report_calls(config: &Config, calls: &CallCounts) {
    if config.verbose {
        eprintln!(
            "AWS calls: {} reads, {} writes, {} HTTP attempts, {} throttled",
            calls.reads, calls.writes, calls.attempts, calls.throttled
        );
        for (service, n) in &calls.throttled_by_service {
            eprintln!("  throttled by {service}: {n}");
        }
        for (op, n) in &calls.by_operation {
            eprintln!("  {op}: {n}");
        }
    }
}

/// How plans are drawn: coloured as `--color` says.
pub fn style(config: &Config) -> crate::render::Style {
    crate::render::Style {
        color: config.color,
    }
}

/// A plan as text on stdout (the preview before a confirmation).
pub fn print_plan(config: &Config, plan: &crate::engine::plan::Plan) {
    print!("{}", crate::render::plan_text(plan, style(config)));
}

/// What a command reports on stdout: text for people (`Display`), or JSON
/// for scripts (`Serialize`) with `--json`.
pub fn emit<R: std::fmt::Display + serde::Serialize>(config: &Config, report: &R) {
    if config.json {
        print_json(report);
    } else {
        print!("{report}");
    }
}

pub fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
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

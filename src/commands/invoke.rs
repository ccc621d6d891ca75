//! `invoke`: one invocation of the stack's function, on AWS or here.

use super::printer::emit;
use super::session::Session;
use super::ExitStatus;
use crate::cli::Runner;
use crate::config::Config;
use crate::function::invoke::{self, FunctionEnv, Invocation, Local};
use crate::program::{StackContext, FUNCTION, TABLE};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// The event text from `--payload JSON|@FILE|-` or `--seed-event`, checked
/// to be JSON (sent byte for byte, never re-serialised: amounts stay exact).
pub fn payload(given: Option<&str>, seed: bool) -> Result<String> {
    let text = match given {
        _ if seed => crate::function::SEED_EVENT.to_owned(),
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the payload from stdin")?;
            s
        }
        Some(p) if p.starts_with('@') => std::fs::read_to_string(&p[1..])
            .with_context(|| format!("cannot read the payload file {}", &p[1..]))?,
        Some(json) => json.to_owned(),
        None => bail!("give --payload JSON, --payload @FILE, --payload - or --seed-event"),
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        bail!("the payload is not JSON ({e}); nothing was invoked");
    }
    Ok(text)
}

/// Invokes the function with `payload` where `runner` says.
pub async fn run_once(
    config: &Config,
    session: &Session,
    runner: &Runner,
    payload: &str,
) -> Result<Invocation> {
    let ctx = context(config, session).await?;
    let name = ctx.name(FUNCTION).to_owned();
    if !runner.local {
        return Ok(invoke::on_aws(&session.aws, &name, payload).await?);
    }
    let local = local_handler(runner)?;
    let function = function_env(&ctx);
    invoke::locally(&local, &function, payload)
        .await
        .with_context(|| format!("cannot run {}", local.executable.display()))
}

pub async fn run(
    config: &Config,
    given: Option<&str>,
    seed: bool,
    runner: &Runner,
) -> Result<ExitStatus> {
    let payload = payload(given, seed)?;
    let session = Session::open(config).await;
    let invocation = run_once(config, &session, runner, &payload).await?;
    emit(config, &invocation);
    Ok(if invocation.failed() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The stack as its saved settings declare it (memory, timeout, log level).
async fn context(config: &Config, session: &Session) -> Result<StackContext> {
    let saved = session
        .store
        .load()
        .await?
        .map(|s| s.settings)
        .unwrap_or_default();
    let (settings, _) = crate::settings::resolve(&saved, &Default::default())?;
    let account = session.aws.account().await?;
    Ok(StackContext::new(
        config.suffix.clone(),
        session.aws.region.clone(),
        account,
        String::new(),
        settings,
    ))
}

/// The function's environment, as its declaration gives it to Lambda.
fn function_env(ctx: &StackContext) -> FunctionEnv {
    let name = ctx.name(FUNCTION).to_owned();
    FunctionEnv {
        arn: format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            ctx.region, ctx.account
        ),
        region: ctx.region.clone(),
        memory_size: ctx.settings.memory_size,
        timeout: ctx.settings.timeout,
        variables: BTreeMap::from([
            ("TABLE_NAME".to_owned(), ctx.name(TABLE).to_owned()),
            (
                "ENVIRONMENT_SUFFIX".to_owned(),
                ctx.suffix.as_str().to_owned(),
            ),
            ("LOG_LEVEL".to_owned(), ctx.settings.log_level.clone()),
        ]),
        name,
    }
}

/// The handler to run here: the given executable, the arm64 build under
/// qemu, or handler/ built for this machine.
fn local_handler(runner: &Runner) -> Result<Local> {
    if let Some(bin) = &runner.handler_bin {
        if !bin.is_file() {
            bail!("--handler-bin {}: no such file", bin.display());
        }
        return Ok(Local {
            executable: bin.clone(),
            runner: None,
        });
    }
    let root = super::code::checkout_root(runner.handler_dir.as_deref())?;
    if runner.arm64 {
        let qemu = which("qemu-aarch64-static").context(
            "qemu-aarch64-static is not installed (scripts/setup.sh installs it); without --arm64 the handler is built for this machine",
        )?;
        let executable = crate::package::build_handler(&root)?;
        return Ok(Local {
            executable,
            runner: Some((qemu, vec!["-L".into(), "/usr/aarch64-linux-gnu".into()])),
        });
    }
    Ok(Local {
        executable: crate::package::build_host_handler(&root)?,
        runner: None,
    })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(program))
        .find(|p| p.is_file())
}

//! webhook-stack: parse, configure, run one command, exit with its status.

mod ambient;
mod cli;
mod commands;
mod config;
mod engine;
mod function;
mod names;
mod package;
mod permissions;
mod program;
mod providers;
mod render;
mod settings;
#[cfg(test)]
mod sim;
mod stack;
mod state;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors exit 1, like every other error (README, "Exit codes"):
    // clap's own 2 would read as "drifted" or "changes present" to a cron
    // job. `--help` and `--version` print to stdout and exit 0.
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The command runs as a task on the one worker thread, where the I/O
    // driver and hyper's connection tasks run too. Polled from the main
    // thread instead, every response crossed threads: a futex wake and two
    // context switches per call, a fifth of the CPU time of `drift --all`.
    quiet_panics();
    let result = runtime.block_on(async { tokio::spawn(commands::run(cli)).await });
    let result = match result {
        Ok(result) => result,
        // A panic unwound the command (its locks were released on the
        // way): one line, never a backtrace or exit 101.
        Err(_) => {
            let message = PANIC.lock().map(|m| m.clone()).unwrap_or_default();
            // A reader that closed the pipe (`| head`): end quietly, as
            // Unix tools do.
            if !message.contains("Broken pipe") {
                eprintln!("Error: internal error, please report it: {message}");
            }
            return ExitCode::from(1);
        }
    };
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            // The error and its causes, each once: many messages already
            // quote their cause, which `{:#}` would print a second time.
            let mut message = e.to_string();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !message.contains(&cause) {
                    message.push_str(": ");
                    message.push_str(&cause);
                }
            }
            eprintln!("Error: {message}");
            ExitCode::from(1)
        }
    }
}

/// The last panic's message and place, kept for `main` to report in one line.
static PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Panics print nothing where they happen: `main` reports them.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let place = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut m) = PANIC.lock() {
            *m = format!("{what}{place}");
        }
    }));
}

/// See Cargo.toml: most of a run's allocations are the AWS SDK's, per call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

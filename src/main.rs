//! webhook-stack: parse, configure, run one command, exit with its status.

mod cli;
mod commands;
mod config;
mod engine;
mod names;
mod package;
mod program;
mod providers;
mod render;
mod stack;
mod state;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}

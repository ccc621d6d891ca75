//! The one printer: what a command reports on stdout (text, or JSON with
//! `--json`), the plan preview, the call counts of `-v`, and the question
//! before a change.

use crate::config::Config;
use crate::providers::CallCounts;
use anyhow::{bail, Result};
use std::io::{BufRead, IsTerminal, Write};

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

//! `graph`: the dependency graph, as DOT or Mermaid; with a saved plan, each
//! node shows its planned action. No AWS call: the graph is the program's.

use super::apply::load_saved;
use super::ExitStatus;
use crate::cli::GraphFormat;
use crate::config::Config;
use crate::engine::graph::{Graph, NodeStyle};
use crate::engine::plan::Action;
use crate::program::{self, StackContext};
use anyhow::Result;
use std::path::Path;

/// Symbol, word and fill of an action, as in the plan's text.
fn drawn(action: Action) -> (&'static str, &'static str, Option<&'static str>) {
    match action {
        Action::Create => ("+", "create", Some("#d4edda")),
        Action::Update => ("~", "update", Some("#fff3cd")),
        Action::Replace => ("-/+", "replace", Some("#e2d9f3")),
        Action::Delete => ("-", "delete", Some("#f8d7da")),
        Action::Noop => ("", "no change", None),
    }
}

pub fn run(config: &Config, format: GraphFormat, plan_file: Option<&Path>) -> Result<ExitStatus> {
    let plan = plan_file.map(load_saved).transpose()?.map(|s| s.plan);
    // The graph's shape does not depend on the account, region or code.
    let ctx = StackContext::new(
        config.suffix.clone(),
        String::new(),
        String::new(),
        String::new(),
        Default::default(),
    );
    let declared = program::declare(&ctx);
    let graph = Graph::new(declared.iter().map(|d| (d.key, d.dependencies())))?;
    let node = |name: &str| {
        let kind = declared
            .iter()
            .find(|d| d.key == name)
            .map(|d| d.kind.token())
            .unwrap_or_default();
        let step = plan
            .as_ref()
            .and_then(|p| p.steps.iter().find(|s| s.resource == name));
        match step {
            None => NodeStyle {
                label: format!("{name}\n{kind}"),
                fill: None,
            },
            Some(step) => {
                let (symbol, word, fill) = drawn(step.action);
                let adopt = if step.adopt { ", adopt" } else { "" };
                NodeStyle {
                    label: format!("{symbol} {name}\n{kind}\n{word}{adopt}")
                        .trim_start()
                        .to_owned(),
                    fill,
                }
            }
        }
    };
    let text = match format {
        GraphFormat::Dot => graph.to_dot(&node),
        GraphFormat::Mermaid => graph.to_mermaid(&node),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(ExitStatus::Success)
}

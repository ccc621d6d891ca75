//! `import`: adopt resources that exist under the stack's names into state,
//! without changing them.

use super::session::Session;
use super::{emit, report_calls, ExitStatus};
use crate::config::Config;
use crate::providers::CallCounts;
use crate::stack::{SettingsFrom, Stack};
use crate::state::ResourceState;
use anyhow::Result;
use serde::Serialize;
use std::fmt;

pub async fn run(config: &Config) -> Result<ExitStatus> {
    let (Session { aws, store }, lease) =
        Session::open(config).await.lock(config, "import").await?;
    let stack = Stack::load(
        &aws,
        store,
        &config.suffix,
        String::new(),
        SettingsFrom::Flags(Default::default()),
    )
    .await?;
    let mut state = stack.state_or_new();
    let mut imported = Vec::new();
    let mut missing = Vec::new();
    for d in &stack.declared {
        if state.resources.contains_key(d.key) {
            continue;
        }
        match stack.observed.get(d.key) {
            Some(live) => {
                // Recorded as found: the next plan shows how it differs from
                // the program, and apply reconciles it. A creation of it that
                // was pending stays so: the next apply settles it, cleaning
                // up what it may have left (import writes nothing to AWS).
                state.resources.insert(
                    d.key.to_string(),
                    ResourceState {
                        kind: d.kind,
                        id: live.id.clone(),
                        properties: live.props.clone(),
                        outputs: live.outputs.clone(),
                        dependencies: d.dependencies().into_iter().map(String::from).collect(),
                        serial: state.serial + 1,
                    },
                );
                imported.push((d.key, live.id.clone()));
            }
            None => missing.push(d.key),
        }
    }
    if !imported.is_empty() {
        stack.store.save(&mut state, &lease).await?;
    }
    let report = ImportReport {
        already: stack.declared.len() - imported.len() - missing.len(),
        imported: imported
            .into_iter()
            .map(|(resource, id)| Imported { resource, id })
            .collect(),
        not_found: missing,
        aws_calls: aws.calls.counts(),
    };
    emit(config, &report);
    report_calls(config, &report.aws_calls);
    Ok(ExitStatus::Success)
}

#[derive(Serialize)]
struct Imported {
    resource: &'static str,
    id: String,
}

/// `import`: what was recorded, and what AWS does not have.
#[derive(Serialize)]
struct ImportReport {
    imported: Vec<Imported>,
    not_found: Vec<&'static str>,
    #[serde(skip)]
    already: usize,
    aws_calls: CallCounts,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for i in &self.imported {
            writeln!(f, "{}: imported {}", i.resource, i.id)?;
        }
        for k in &self.not_found {
            writeln!(
                f,
                "{k}: not found in AWS under the stack's name; apply will create it"
            )?;
        }
        writeln!(
            f,
            "Imported {} resource(s); {} already in state.",
            self.imported.len(),
            self.already
        )
    }
}

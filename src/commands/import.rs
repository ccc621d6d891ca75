//! `import`: adopt resources that exist under the stack's names into state,
//! without changing them.

use super::{connect, print_json, report_calls, ExitStatus};
use crate::config::Config;
use crate::stack::{SettingsFrom, Stack};
use crate::state::ResourceState;
use anyhow::Result;

pub async fn run(config: &Config) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let store = config.backend.open(&config.suffix, &aws);
    let lease = store.lock("import", config.lock_timeout).await?;
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
                // the program, and apply reconciles it.
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
    if config.json {
        print_json(&serde_json::json!({
            "imported": imported.iter().map(|(k, id)| serde_json::json!({"resource": k, "id": id})).collect::<Vec<_>>(),
            "not_found": missing,
            "aws_calls": aws.calls.counts(),
        }));
    } else {
        for (k, id) in &imported {
            println!("{k}: imported {id}");
        }
        for k in &missing {
            println!("{k}: not found in AWS under the stack's name; apply will create it");
        }
        println!(
            "Imported {} resource(s); {} already in state.",
            imported.len(),
            stack.declared.len() - imported.len() - missing.len()
        );
    }
    report_calls(config, &aws.calls.counts());
    Ok(ExitStatus::Success)
}

//! `state list`, `state show RESOURCE`, `state migrate --to URL`.

use super::{connect, print_json, ExitStatus};
use crate::cli::StateAction;
use crate::config::Config;
use crate::state::{Backend, State, StateStore};
use anyhow::{bail, Result};
use serde_json::json;

pub async fn run(config: &Config, action: StateAction) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let store = config.backend.open(&config.suffix, &aws);
    match action {
        StateAction::List => {
            let state = existing(store.as_ref()).await?;
            if config.json {
                let rows: Vec<_> = state
                    .resources
                    .iter()
                    .map(|(k, r)| json!({"resource": k, "type": r.kind, "id": r.id, "serial": r.serial}))
                    .collect();
                print_json(
                    &json!({"serial": state.serial, "lineage": state.lineage, "resources": rows}),
                );
            } else {
                let width = state.resources.keys().map(String::len).max().unwrap_or(0);
                for (k, r) in &state.resources {
                    println!(
                        "{k:<width$}  {:<22}  {}  (serial {})",
                        r.kind, r.id, r.serial
                    );
                }
                for (k, p) in &state.pending {
                    println!(
                        "{k:<width$}  {:<22}  (creation pending since {})",
                        p.kind, p.started
                    );
                }
            }
        }
        StateAction::Show { resource } => {
            let state = existing(store.as_ref()).await?;
            let Some(r) = state.resources.get(&resource) else {
                let known: Vec<&str> = state.resources.keys().map(String::as_str).collect();
                bail!(
                    "{resource} is not in the state of stack {}; it holds {}",
                    config.suffix,
                    known.join(", ")
                );
            };
            if config.json {
                print_json(&json!({"resource": resource, "state": r}));
            } else {
                println!(
                    "# {resource} ({}), id {}, last written at serial {}",
                    r.kind, r.id, r.serial
                );
                println!("properties = {}", pretty(&r.properties));
                println!("outputs = {}", pretty(&r.outputs));
                if !r.dependencies.is_empty() {
                    println!("dependencies = {}", r.dependencies.join(", "));
                }
            }
        }
        StateAction::Migrate { to } => {
            let target = Backend::parse(&to)?;
            if target == config.backend {
                bail!("--to {to} is where the state already is");
            }
            let dest = target.open(&config.suffix, &aws);
            // Both locks, source first: no run may write either copy meanwhile.
            let source_lease = store.lock("state migrate", config.lock_timeout).await?;
            let dest_lease = dest.lock("state migrate", config.lock_timeout).await?;
            let state = existing(store.as_ref()).await?;
            if let Some(there) = dest.load().await? {
                if there.lineage != state.lineage || there.serial > state.serial {
                    bail!(
                        "{} already holds a state of this stack (lineage {}, serial {}), which is not an older copy of this one (lineage {}, serial {}); nothing was copied",
                        dest.location(),
                        there.lineage,
                        there.serial,
                        state.lineage,
                        state.serial
                    );
                }
            }
            // A save bumps the serial: start one below to keep it.
            let mut copy = state.clone();
            copy.serial -= 1;
            dest.save(&mut copy, &dest_lease).await?;
            debug_assert_eq!(copy.serial, state.serial);
            drop((dest_lease, source_lease));
            if config.json {
                print_json(&json!({
                    "from": store.location(),
                    "to": dest.location(),
                    "lineage": copy.lineage,
                    "serial": copy.serial,
                }));
            } else {
                println!(
                    "Copied the state of stack {} from {} to {} (lineage {}, serial {}).\n\
                     The old copy is still at {}: use --backend {} from now on, and delete the old copy once every teammate has switched.",
                    config.suffix,
                    store.location(),
                    dest.location(),
                    copy.lineage,
                    copy.serial,
                    store.location(),
                    target.url()
                );
            }
        }
    }
    Ok(ExitStatus::Success)
}

async fn existing(store: &dyn StateStore) -> Result<State> {
    match store.load().await? {
        Some(s) => Ok(s),
        None => bail!("no state at {}", store.location()),
    }
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("serialisable")
}

//! `state list`, `state show RESOURCE`, `state migrate --to URL`.

use super::session::Session;
use super::{emit, ExitStatus};
use crate::cli::StateAction;
use crate::config::Config;
use crate::engine::model::Kind;
use crate::state::{Backend, ResourceState, State, StateStore};
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt;

pub async fn run(config: &Config, action: StateAction) -> Result<ExitStatus> {
    let Session { aws, store } = Session::open(config).await;
    match action {
        StateAction::List => {
            let state = existing(store.as_ref()).await?;
            emit(config, &ListReport::of(&state));
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
            emit(
                config,
                &ShowReport {
                    resource: &resource,
                    state: r,
                },
            );
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
            // A save bumps the serial: start one below to keep it (a
            // hand-made state at serial 0 arrives at 1: serials only rise).
            let mut copy = state.clone();
            copy.serial = state.serial.saturating_sub(1);
            dest.save(&mut copy, &dest_lease).await?;
            debug_assert_eq!(copy.serial, state.serial.max(1));
            drop((dest_lease, source_lease));
            emit(
                config,
                &MigrateReport {
                    suffix: config.suffix.to_string(),
                    from: store.location(),
                    to: dest.location(),
                    backend: target.url(),
                    lineage: copy.lineage,
                    serial: copy.serial,
                },
            );
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

#[derive(Serialize)]
struct Row {
    resource: String,
    #[serde(rename = "type")]
    kind: Kind,
    id: String,
    serial: u64,
}

/// `state list`.
#[derive(Serialize)]
struct ListReport {
    serial: u64,
    lineage: String,
    resources: Vec<Row>,
    /// Creations started and not recorded: (resource, type, since).
    #[serde(skip)]
    pending: Vec<(String, Kind, String)>,
}

impl ListReport {
    fn of(state: &State) -> Self {
        ListReport {
            serial: state.serial,
            lineage: state.lineage.clone(),
            resources: state
                .resources
                .iter()
                .map(|(k, r)| Row {
                    resource: k.clone(),
                    kind: r.kind,
                    id: r.id.clone(),
                    serial: r.serial,
                })
                .collect(),
            pending: state
                .pending
                .iter()
                .map(|(k, p)| (k.clone(), p.kind, p.started.clone()))
                .collect(),
        }
    }
}

impl fmt::Display for ListReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .resources
            .iter()
            .map(|r| r.resource.len())
            .chain(self.pending.iter().map(|p| p.0.len()))
            .max()
            .unwrap_or(0);
        for r in &self.resources {
            writeln!(
                f,
                "{:<width$}  {:<22}  {}  (serial {})",
                r.resource,
                r.kind.token(),
                r.id,
                r.serial
            )?;
        }
        for (k, kind, since) in &self.pending {
            writeln!(
                f,
                "{k:<width$}  {:<22}  (creation pending since {since})",
                kind.token()
            )?;
        }
        Ok(())
    }
}

/// `state show RESOURCE`.
#[derive(Serialize)]
struct ShowReport<'a> {
    resource: &'a str,
    state: &'a ResourceState,
}

impl fmt::Display for ShowReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.state;
        writeln!(
            f,
            "# {} ({}), id {}, last written at serial {}",
            self.resource, r.kind, r.id, r.serial
        )?;
        writeln!(f, "properties = {}", pretty(&r.properties))?;
        writeln!(f, "outputs = {}", pretty(&r.outputs))?;
        if !r.dependencies.is_empty() {
            writeln!(f, "dependencies = {}", r.dependencies.join(", "))?;
        }
        Ok(())
    }
}

/// `state migrate --to URL`.
#[derive(Serialize)]
struct MigrateReport {
    #[serde(skip)]
    suffix: String,
    from: String,
    to: String,
    #[serde(skip)]
    backend: String,
    lineage: String,
    serial: u64,
}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Copied the state of stack {} from {} to {} (lineage {}, serial {}).\n\
             The old copy is still at {}: use --backend {} from now on, and delete the old copy once every teammate has switched.",
            self.suffix, self.from, self.to, self.lineage, self.serial, self.from, self.backend
        )
    }
}

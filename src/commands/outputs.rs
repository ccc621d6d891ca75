//! `outputs`: the seed stack's outputs, from state.

use super::session::Session;
use super::{emit, ExitStatus};
use crate::config::Config;
use crate::state::State;
use anyhow::{bail, Result};
use std::collections::BTreeMap;

/// The outputs that state knows: the CloudFormation stack's ten once the
/// stack is applied, and those of the resources its settings add. Each
/// resource's row in the program says which outputs it gives.
pub fn outputs(state: &State) -> BTreeMap<&'static str, String> {
    crate::program::RESOURCES
        .iter()
        .flat_map(|r| {
            r.outputs
                .iter()
                .map(move |(name, output)| (r.key, name, output))
        })
        .filter_map(|(resource, name, output)| {
            let v = state.resources.get(resource)?.outputs.get(*output)?;
            Some((*name, v.clone()))
        })
        .collect()
}

/// `outputs`: name = value, aligned.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct Outputs(pub BTreeMap<&'static str, String>);

impl std::fmt::Display for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.0.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in &self.0 {
            writeln!(f, "{k:<width$} = {v}")?;
        }
        Ok(())
    }
}

pub async fn run(config: &Config) -> Result<ExitStatus> {
    let Session { store, .. } = Session::open(config).await;
    let Some(state) = store.load().await? else {
        bail!(
            "no state at {}: the stack {} has not been applied",
            store.location(),
            config.suffix
        );
    };
    if state.suffix != config.suffix.as_str() {
        bail!(
            "state {} belongs to suffix {:?}",
            store.location(),
            state.suffix
        );
    }
    emit(config, &Outputs(outputs(&state)));
    Ok(ExitStatus::Success)
}

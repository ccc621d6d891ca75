//! `outputs`: the seed stack's outputs, from state.

use super::{emit, ExitStatus};
use crate::config::Config;
use crate::program::{FUNCTION, KMS_ALIAS, KMS_KEY, LOG_GROUP, ROLE, TABLE};
use crate::state::State;
use anyhow::{bail, Result};
use std::collections::BTreeMap;

/// Output name (as the CloudFormation stack's) → resource and its output.
const OUTPUTS: [(&str, &str, &str); 10] = [
    ("LambdaFunctionName", FUNCTION, "name"),
    ("LambdaFunctionArn", FUNCTION, "arn"),
    ("DynamoDBTableName", TABLE, "name"),
    ("DynamoDBTableArn", TABLE, "arn"),
    ("KMSKeyId", KMS_KEY, "key_id"),
    ("KMSKeyArn", KMS_KEY, "arn"),
    ("KMSKeyAlias", KMS_ALIAS, "name"),
    ("LogGroupName", LOG_GROUP, "name"),
    ("IAMRoleName", ROLE, "name"),
    ("IAMRoleArn", ROLE, "arn"),
];

/// The outputs that state knows (all ten once the stack is applied).
pub fn outputs(state: &State) -> BTreeMap<&'static str, String> {
    OUTPUTS
        .iter()
        .filter_map(|(name, resource, output)| {
            let v = state.resources.get(*resource)?.outputs.get(*output)?;
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
    let aws = super::connect(config).await;
    let store = config.backend.open(&config.suffix, &aws);
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

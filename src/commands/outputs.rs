//! `outputs`: the seed stack's outputs, from state.

use super::{print_json, ExitStatus};
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

pub fn print(config: &Config, state: &State) {
    let out = outputs(state);
    if config.json {
        print_json(&out);
    } else {
        let width = out.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in out {
            println!("{k:<width$} = {v}");
        }
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
    print(config, &state);
    Ok(ExitStatus::Success)
}

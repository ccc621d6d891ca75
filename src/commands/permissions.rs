//! `permissions`: the IAM policy the caller needs for this stack.

use super::{connect, ExitStatus};
use crate::config::Config;
use crate::permissions::{policy, Scope};
use crate::settings::{self, Values};
use anyhow::{Context, Result};

pub async fn run(
    config: &Config,
    read_only: bool,
    all: bool,
    account: Option<String>,
    given: &Values,
) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let account = match account {
        Some(a) => a,
        None => aws
            .account()
            .await
            .context("the account the ARNs name (or give it: --account ID)")?,
    };
    let suffixes = if all {
        config.backend.list(&aws).await?
    } else {
        vec![config.suffix.clone()]
    };
    // Each stack's saved settings, with this run's flags over them; a stack
    // not applied yet has the defaults.
    let mut per_stack = Vec::new();
    for suffix in &suffixes {
        let store = config.backend.open(suffix, &aws);
        let saved = match store.load().await {
            Ok(Some(state)) => state.settings,
            Ok(None) => Default::default(),
            Err(e) => {
                eprintln!(
                    "Warning: the saved settings of {suffix} could not be read ({e}); the policy assumes the defaults and the flags given"
                );
                Default::default()
            }
        };
        per_stack.push(settings::resolve(&saved, given)?.0);
    }
    let doc = policy(&Scope {
        suffixes: &suffixes,
        region: &aws.region,
        account: &account,
        settings: &per_stack,
        backend: &config.backend,
        read_only,
        all,
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitStatus::Success)
}

//! One module per AWS resource type, each a [`provider::Provider`] listed in
//! `registry.rs`; this file runs the walker's operations through them.

pub mod account;
pub mod alarm;
pub mod aws;
pub mod errors;
pub mod function;
pub mod kms_alias;
pub mod kms_key;
mod limits;
pub mod log_group;
#[cfg(test)]
mod mocked;
pub mod policy;
mod props;
pub mod provider;
pub mod registry;
pub mod retry;
pub mod role;
pub mod survey;
pub mod table;

pub use aws::{Aws, CallCounts, Connection};
pub use errors::AwsError;

use crate::engine::apply::{Executor, Operation, StepFailure};
use crate::engine::model::{Kind, Observed, Props, Schema};
use crate::engine::plan::Action;
use registry::Context;
pub use registry::Registry;
use serde_json::Value;
use std::sync::Arc;

/// A failed create or update, with what it left behind.
#[derive(Debug)]
pub struct Failure {
    pub error: AwsError,
    pub partial: Option<Observed>,
}

impl Failure {
    pub fn partial(error: AwsError, partial: Observed) -> Self {
        Failure {
            error,
            partial: Some(partial),
        }
    }
}

impl From<AwsError> for Failure {
    fn from(error: AwsError) -> Self {
        Failure {
            error,
            partial: None,
        }
    }
}

/// What is known of a resource before reading it (from state), which lets
/// reads that would wait for each other go out at once.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub arn: Option<String>,
    pub inline_policy_names: Vec<String>,
}

impl Hint {
    pub fn from_state(r: &crate::engine::state::ResourceState) -> Hint {
        Hint {
            arn: r.outputs.get("arn").cloned(),
            inline_policy_names: r
                .properties
                .get("inline_policies")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        }
    }
}

/// Reads a resource by its physical id (for a KMS key: key id, ARN or alias).
pub async fn read(
    aws: &Aws,
    kind: Kind,
    id: &str,
    hint: &Hint,
) -> Result<Option<Observed>, AwsError> {
    let found = registry::provider(kind)?.read(aws, id, hint).await?;
    Ok(found.map(|o| Observed {
        props: Registry.normalize(kind, o.props),
        ..o
    }))
}

/// Looks for a resource that a killed run may have created without
/// recording it (a KMS key has no name to find it by).
pub async fn find_unrecorded(
    aws: &Aws,
    kind: Kind,
    desired: &Props,
) -> Result<Option<Observed>, AwsError> {
    let found = registry::provider(kind)?
        .find_unrecorded(aws, desired)
        .await?;
    Ok(found.map(|o| Observed {
        props: Registry.normalize(kind, o.props),
        ..o
    }))
}

/// Carries out operations for the walker.
pub struct Providers {
    pub aws: Aws,
    pub account: String,
    /// The function's code package.
    pub code: Arc<Vec<u8>>,
    pub kms_deletion_window_days: i32,
    /// Resources whose creation was pending in state when the run began
    /// (an earlier run died after asking AWS to create them), with when.
    pub pending_before: std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>,
}

impl Providers {
    async fn run(&self, op: Operation) -> Result<Option<Observed>, Failure> {
        let provider = registry::provider(op.kind)?;
        let cx = Context {
            aws: &self.aws,
            account: &self.account,
            code: &self.code,
            kms_deletion_window_days: self.kms_deletion_window_days,
            pending_since: self.pending_before.get(&op.resource).copied(),
        };
        let current = || {
            op.current.clone().ok_or_else(|| {
                AwsError::invalid(
                    "plan",
                    format!("{} has no live state to change", op.resource),
                )
            })
        };
        match op.action {
            Action::Create => provider.create(&cx, &op.desired).await.map(Some),
            Action::Update => provider
                .update(&cx, &current()?, &op.desired)
                .await
                .map(Some),
            Action::Replace => {
                provider.delete(&cx, &current()?).await?;
                provider.create(&cx, &op.desired).await.map(Some)
            }
            Action::Delete => {
                provider.delete(&cx, &current()?).await?;
                Ok(None)
            }
            Action::Noop => Ok(op.current.clone()),
        }
    }
}

impl Executor for Providers {
    async fn execute(&self, op: Operation) -> Result<Option<Observed>, StepFailure> {
        self.run(op).await.map_err(|f| StepFailure {
            message: f.error.to_string(),
            partial: f.partial,
        })
    }
}

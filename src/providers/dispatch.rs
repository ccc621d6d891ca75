//! The walker's operations and the stack's reads, dispatched to each
//! resource type's provider through the registry.

use super::aws::{Aws, AwsError};
use super::registry::{self, Context, Registry};
use crate::engine::apply::{Executor, Operation, StepFailure};
use crate::engine::model::{Kind, Observed, Props, Schema};
use crate::engine::plan::Action;
use crate::engine::state::Creation;
use std::sync::Arc;

/// A failed create or update, with what it left behind.
#[derive(Debug)]
pub struct Failure {
    pub error: AwsError,
    pub partial: Option<Observed>,
    /// The creation may have left more than `partial` (an orphan it could
    /// not look for): it stays pending, for the next run to settle.
    pub unsettled: bool,
}

impl Failure {
    pub fn partial(error: AwsError, partial: Observed) -> Self {
        Failure {
            error,
            partial: Some(partial),
            unsettled: false,
        }
    }

    /// `partial` exists, and its creation may have made more than it.
    pub fn unsettled(error: AwsError, partial: Observed) -> Self {
        Failure {
            unsettled: true,
            ..Failure::partial(error, partial)
        }
    }
}

impl From<AwsError> for Failure {
    fn from(error: AwsError) -> Self {
        Failure {
            error,
            partial: None,
            unsettled: false,
        }
    }
}

/// What state recorded of a resource before it is read: its outputs (an
/// ARN, a URL) and properties (the role's policy names), which let reads
/// that would wait for each other go out at once. Each provider takes what
/// it can use.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub outputs: std::collections::BTreeMap<String, String>,
    pub properties: Props,
}

impl Hint {
    pub fn from_state(r: &crate::engine::state::ResourceState) -> Hint {
        Hint {
            outputs: r.outputs.clone(),
            properties: r.properties.clone(),
        }
    }

    /// The recorded output `name`.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs.get(name).map(String::as_str)
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
    pending: &Creation,
) -> Result<Option<Observed>, AwsError> {
    let found = registry::provider(kind)?
        .find_unrecorded(aws, desired, pending)
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
    /// (an earlier run died after asking AWS to create them).
    pub pending_before: std::collections::BTreeMap<String, Creation>,
}

impl Providers {
    async fn run(&self, op: Operation) -> Result<Option<Observed>, Failure> {
        let provider = registry::provider(op.kind)?;
        let cx = Context {
            aws: &self.aws,
            account: &self.account,
            code: &self.code,
            kms_deletion_window_days: self.kms_deletion_window_days,
            pending: self.pending_before.get(&op.resource),
            creation: op.creation.as_deref(),
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
                let old = current()?;
                // Refused (deletion protection, a missing permission, in
                // use): the old resource still exists, as it is. A creation
                // pending from an earlier run was not settled: it stays.
                if let Err(error) = provider.delete(&cx, &old).await {
                    return Err(match cx.pending {
                        Some(_) => Failure::unsettled(error, old),
                        None => Failure::partial(error, old),
                    });
                }
                provider.create(&cx, &op.desired).await.map(Some)
            }
            Action::Delete => {
                let current = current()?;
                // A pending creation ends here too: settled first, as by
                // any other step (what a killed run made beside the
                // resource found is swept, not left behind).
                if cx.pending.is_some() {
                    provider.settle(&cx, &current).await?;
                }
                provider.delete(&cx, &current).await?;
                Ok(None)
            }
            Action::Noop => {
                if cx.pending.is_some() {
                    provider.settle(&cx, &current()?).await?;
                }
                Ok(op.current.clone())
            }
        }
    }
}

impl Executor for Providers {
    async fn execute(&self, op: Operation) -> Result<Option<Observed>, StepFailure> {
        self.run(op).await.map_err(|f| StepFailure {
            message: f.error.to_string(),
            partial: f.partial,
            unsettled: f.unsettled,
        })
    }
}

//! One module per AWS resource type, each with `read / create / update /
//! delete`; this file dispatches by kind and normalises properties.

pub mod account;
pub mod aws;
pub mod errors;
mod function;
mod kms_alias;
mod kms_key;
mod log_group;
#[cfg(test)]
mod mocked;
pub mod policy;
mod props;
pub mod retry;
mod role;
mod table;

pub use aws::{Aws, CallCounts, Connection};
pub use errors::AwsError;

use crate::engine::apply::{Executor, Operation, StepFailure};
use crate::engine::model::{Kind, Observed, Props};
use crate::engine::plan::Action;
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

/// Puts properties in the form both sides of a comparison share.
pub fn normalize(kind: Kind, mut props: Props) -> Props {
    props::normalize_tags(&mut props);
    let canon = |v: &mut Value| *v = policy::canonical(v);
    match kind {
        Kind::KmsKey => {
            props.get_mut("policy").map(canon);
        }
        Kind::Role => {
            props.get_mut("assume_role_policy").map(canon);
            if let Some(Value::Object(m)) = props.get_mut("inline_policies") {
                m.values_mut().for_each(canon);
            }
            if let Some(Value::Array(a)) = props.get_mut("managed_policy_arns") {
                a.sort_by_key(|v| v.to_string());
            }
        }
        Kind::Function => {
            if let Some(Value::Array(a)) = props.get_mut("architectures") {
                a.sort_by_key(|v| v.to_string());
            }
            if let Some(p) = props.get_mut("resource_policy").filter(|p| !p.is_null()) {
                canon(p);
            }
        }
        Kind::KmsAlias | Kind::LogGroup | Kind::Table => {}
    }
    props
}

/// What is known of a resource before reading it (from state), which lets
/// reads that would wait for each other go out at once.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub arn: Option<String>,
    pub inline_policy_names: Vec<String>,
}

impl Hint {
    pub fn from_state(r: &crate::state::ResourceState) -> Hint {
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
    let found = match kind {
        Kind::KmsKey => kms_key::read(aws, id).await?,
        Kind::KmsAlias => kms_alias::read(aws, id).await?,
        Kind::LogGroup => log_group::read(aws, id, hint).await?,
        Kind::Table => table::read(aws, id, hint).await?,
        Kind::Role => role::read(aws, id, hint).await?,
        Kind::Function => function::read(aws, id).await?,
    };
    Ok(found.map(|o| Observed {
        props: normalize(kind, o.props),
        ..o
    }))
}

/// Looks for a resource that a killed run may have created without
/// recording it, for kinds that cannot be found by name (the KMS key; the
/// others are found by their name anyway).
pub async fn find_unrecorded(
    aws: &Aws,
    kind: Kind,
    desired: &Props,
) -> Result<Option<Observed>, AwsError> {
    match kind {
        Kind::KmsKey => {
            match kms_key::find_by_tags(aws, &props::map_prop(desired, "tags")).await? {
                Some(id) => read(aws, kind, &id, &Hint::default()).await,
                None => Ok(None),
            }
        }
        _ => Ok(None),
    }
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
    async fn create(
        &self,
        resource: &str,
        kind: Kind,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        let aws = &self.aws;
        match kind {
            Kind::KmsKey => {
                kms_key::create(aws, desired, self.pending_before.get(resource).copied()).await
            }
            Kind::KmsAlias => {
                let name = props::str_prop(desired, "name").unwrap_or_default();
                let arn = format!("arn:aws:kms:{}:{}:{}", aws.region, self.account, name);
                Ok(kms_alias::create(aws, desired, arn).await?)
            }
            Kind::LogGroup => {
                let name = props::str_prop(desired, "name").unwrap_or_default();
                let arn = format!(
                    "arn:aws:logs:{}:{}:log-group:{}",
                    aws.region, self.account, name
                );
                log_group::create(aws, desired, &arn).await
            }
            Kind::Table => table::create(aws, desired).await,
            Kind::Role => role::create(aws, desired).await,
            Kind::Function => function::create(aws, desired, &self.code).await,
        }
    }

    async fn update(
        &self,
        kind: Kind,
        current: &Observed,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        let aws = &self.aws;
        match kind {
            Kind::KmsKey => kms_key::update(aws, current, desired).await,
            Kind::KmsAlias => Ok(kms_alias::update(aws, current, desired).await?),
            Kind::LogGroup => log_group::update(aws, current, desired).await,
            Kind::Table => table::update(aws, current, desired).await,
            Kind::Role => role::update(aws, current, desired).await,
            Kind::Function => function::update(aws, current, desired, &self.code).await,
        }
    }

    async fn delete(&self, kind: Kind, current: &Observed) -> Result<(), AwsError> {
        let aws = &self.aws;
        match kind {
            Kind::KmsKey => kms_key::delete(aws, current, self.kms_deletion_window_days).await,
            Kind::KmsAlias => kms_alias::delete(aws, &current.id).await,
            Kind::LogGroup => log_group::delete(aws, &current.id).await,
            Kind::Table => table::delete(aws, &current.id).await,
            Kind::Role => role::delete(aws, current).await,
            Kind::Function => function::delete(aws, &current.id).await,
        }
    }

    async fn run(&self, op: Operation) -> Result<Option<Observed>, Failure> {
        let current = || {
            op.current.clone().ok_or_else(|| {
                AwsError::invalid(
                    "plan",
                    format!("{} has no live state to change", op.resource),
                )
            })
        };
        match op.action {
            Action::Create => self
                .create(&op.resource, op.kind, &op.desired)
                .await
                .map(Some),
            Action::Update => self
                .update(op.kind, &current()?, &op.desired)
                .await
                .map(Some),
            Action::Replace => {
                self.delete(op.kind, &current()?).await?;
                self.create(&op.resource, op.kind, &op.desired)
                    .await
                    .map(Some)
            }
            Action::Delete => {
                self.delete(op.kind, &current()?).await?;
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

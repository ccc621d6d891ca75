//! The provider registry: one [`Provider`] per resource type, each in its
//! own file, all listed in [`PROVIDERS`]. Adding a resource type is one
//! file here and one declaration in the program.

use super::{Aws, AwsError, Failure, Hint};
use crate::engine::model::{Kind, Observed, Props, Schema};
use futures_util::future::BoxFuture;

/// What an operation may need beyond the resource's own properties.
pub struct Context<'a> {
    pub aws: &'a Aws,
    pub account: &'a str,
    /// The function's code package.
    pub code: &'a [u8],
    pub kms_deletion_window_days: i32,
    /// When a creation of this resource that an earlier run started (and
    /// died before recording) began.
    pub pending_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// One AWS resource type: its token, what forces a replacement, how AWS's
/// echo is made comparable, and how it is read, created, updated and deleted.
pub trait Provider: Sync {
    /// The type token written in state and plans (`aws:logs/logGroup`).
    fn kind(&self) -> Kind;

    /// Properties AWS cannot change in place.
    fn replace_keys(&self) -> &'static [&'static str];

    /// What replacing or deleting the resource loses, if it holds data.
    fn loses(&self) -> Option<&'static str> {
        None
    }

    /// Puts properties (desired or read) in the form both share. Tags are
    /// normalised for every type before this runs.
    fn normalize(&self, _props: &mut Props) {}

    /// Reads the resource by its physical id; `None` when it does not exist.
    fn read<'a>(
        &'a self,
        aws: &'a Aws,
        id: &'a str,
        hint: &'a Hint,
    ) -> BoxFuture<'a, Result<Option<Observed>, AwsError>>;

    fn create<'a>(
        &'a self,
        cx: &'a Context<'a>,
        desired: &'a Props,
    ) -> BoxFuture<'a, Result<Observed, Failure>>;

    fn update<'a>(
        &'a self,
        cx: &'a Context<'a>,
        current: &'a Observed,
        desired: &'a Props,
    ) -> BoxFuture<'a, Result<Observed, Failure>>;

    fn delete<'a>(
        &'a self,
        cx: &'a Context<'a>,
        current: &'a Observed,
    ) -> BoxFuture<'a, Result<(), AwsError>>;

    /// Looks for a resource that a killed run may have created without
    /// recording it. Types found by their name need not: they are read by
    /// name anyway.
    fn find_unrecorded<'a>(
        &'a self,
        _aws: &'a Aws,
        _desired: &'a Props,
    ) -> BoxFuture<'a, Result<Option<Observed>, AwsError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Every resource type this build can manage.
pub static PROVIDERS: &[&dyn Provider] = &[
    &super::kms_key::KmsKey,
    &super::kms_alias::KmsAlias,
    &super::log_group::LogGroup,
    &super::table::Table,
    &super::role::Role,
    &super::function::Function,
    &super::alarm::Alarm,
];

/// The provider of `kind`, or an error naming the type this build lacks
/// (a state written by a newer build).
pub fn provider(kind: Kind) -> Result<&'static dyn Provider, AwsError> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.kind() == kind)
        .ok_or_else(|| {
            AwsError::invalid(
                "registry",
                format!("this build of webhook-stack does not know the resource type {kind}"),
            )
        })
}

/// The registry as the engine sees it: type tokens and property maps only.
pub struct Registry;

impl Schema for Registry {
    fn replace_keys(&self, kind: Kind) -> &'static [&'static str] {
        provider(kind).map_or(&[], |p| p.replace_keys())
    }

    fn loses(&self, kind: Kind) -> Option<&'static str> {
        // A type this build does not know is treated as holding data.
        provider(kind).map_or(Some("what it holds"), |p| p.loses())
    }

    fn normalize(&self, kind: Kind, mut props: Props) -> Props {
        super::props::normalize_tags(&mut props);
        if let Ok(p) = provider(kind) {
            p.normalize(&mut props);
        }
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_registered_once_and_round_trips_through_state() {
        let mut tokens: Vec<&str> = PROVIDERS.iter().map(|p| p.kind().token()).collect();
        tokens.sort();
        tokens.dedup();
        assert_eq!(tokens.len(), PROVIDERS.len());
        for p in PROVIDERS {
            let json = serde_json::to_string(&p.kind()).unwrap();
            let back: Kind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p.kind());
            assert!(provider(back).is_ok());
        }
        let unknown: Kind = serde_json::from_str("\"aws:sqs/queue\"").unwrap();
        let err = provider(unknown).err().unwrap().to_string();
        assert!(
            err.contains("does not know the resource type aws:sqs/queue"),
            "{err}"
        );
        assert!(Registry.loses(unknown).is_some());
    }
}

//! What a resource type is to the engine and the walker: the [`Provider`]
//! trait that each file of `providers/` implements, and the [`Context`] its
//! operations get. The list of providers is in `registry.rs`.

use super::{Aws, AwsError, Failure, Hint};
use crate::engine::model::{Kind, Observed, Props};
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

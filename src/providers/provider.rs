//! What a resource type is to the engine and the walker: the [`Provider`]
//! trait that each file of `providers/` implements, and the [`Context`] its
//! operations get. The list of providers is in `registry.rs`.

use super::{Aws, AwsError, Failure, Hint};
use crate::engine::model::{Kind, Observed, Props};
use crate::engine::state::Creation;
use futures_util::future::BoxFuture;
use std::future::Future;

/// What an operation may need beyond the resource's own properties.
pub struct Context<'a> {
    pub aws: &'a Aws,
    pub account: &'a str,
    /// The function's code package.
    pub code: &'a [u8],
    pub kms_deletion_window_days: i32,
    /// A creation of this resource that an earlier run started and died
    /// before recording.
    pub pending: Option<&'a Creation>,
    /// The token of the creation this operation starts (create, replace).
    pub creation: Option<&'a str>,
}

/// One AWS resource type: its token, what forces a replacement, how AWS's
/// echo is made comparable, and how it is read, created, updated and deleted.
/// Implementations write plain `async fn`s; [`DynProvider`] is how the
/// registry holds them side by side.
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

    /// The property of a live resource that makes AWS refuse to delete it
    /// (a table's deletion protection), if it is set.
    fn guarded_by(&self, _live: &Props) -> Option<&'static str> {
        None
    }

    /// Reads the resource by its physical id; `None` when it does not exist.
    fn read(
        &self,
        aws: &Aws,
        id: &str,
        hint: &Hint,
    ) -> impl Future<Output = Result<Option<Observed>, AwsError>> + Send;

    fn create(
        &self,
        cx: &Context<'_>,
        desired: &Props,
    ) -> impl Future<Output = Result<Observed, Failure>> + Send;

    fn update(
        &self,
        cx: &Context<'_>,
        current: &Observed,
        desired: &Props,
    ) -> impl Future<Output = Result<Observed, Failure>> + Send;

    fn delete(
        &self,
        cx: &Context<'_>,
        current: &Observed,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Looks for a resource that a killed run may have created without
    /// recording it (its `pending` creation). Types found by their name
    /// need not: they are read by name anyway.
    fn find_unrecorded(
        &self,
        _aws: &Aws,
        _desired: &Props,
        _pending: &Creation,
    ) -> impl Future<Output = Result<Option<Observed>, AwsError>> + Send {
        async { Ok(None) }
    }

    /// Called when a pending creation is settled by a resource found
    /// without creating it (`cx.pending` is that creation): cleans up what that creation may have left behind.
    /// Types found by their name leave nothing.
    fn settle(
        &self,
        _cx: &Context<'_>,
        _found: &Observed,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        async { Ok(()) }
    }
}

/// A [`Provider`] with its futures boxed, so that providers of every type
/// fit in one list. Every provider is one, through the impl below: the one
/// adapter between the two.
pub trait DynProvider: Sync {
    fn kind(&self) -> Kind;
    fn replace_keys(&self) -> &'static [&'static str];
    fn loses(&self) -> Option<&'static str>;
    fn normalize(&self, props: &mut Props);
    fn guarded_by(&self, live: &Props) -> Option<&'static str>;
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
    fn find_unrecorded<'a>(
        &'a self,
        aws: &'a Aws,
        desired: &'a Props,
        pending: &'a Creation,
    ) -> BoxFuture<'a, Result<Option<Observed>, AwsError>>;
    fn settle<'a>(
        &'a self,
        cx: &'a Context<'a>,
        found: &'a Observed,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

impl<P: Provider> DynProvider for P {
    fn kind(&self) -> Kind {
        Provider::kind(self)
    }
    fn replace_keys(&self) -> &'static [&'static str] {
        Provider::replace_keys(self)
    }
    fn loses(&self) -> Option<&'static str> {
        Provider::loses(self)
    }
    fn normalize(&self, props: &mut Props) {
        Provider::normalize(self, props)
    }
    fn guarded_by(&self, live: &Props) -> Option<&'static str> {
        Provider::guarded_by(self, live)
    }
    fn read<'a>(
        &'a self,
        aws: &'a Aws,
        id: &'a str,
        hint: &'a Hint,
    ) -> BoxFuture<'a, Result<Option<Observed>, AwsError>> {
        Box::pin(Provider::read(self, aws, id, hint))
    }
    fn create<'a>(
        &'a self,
        cx: &'a Context<'a>,
        desired: &'a Props,
    ) -> BoxFuture<'a, Result<Observed, Failure>> {
        Box::pin(Provider::create(self, cx, desired))
    }
    fn update<'a>(
        &'a self,
        cx: &'a Context<'a>,
        current: &'a Observed,
        desired: &'a Props,
    ) -> BoxFuture<'a, Result<Observed, Failure>> {
        Box::pin(Provider::update(self, cx, current, desired))
    }
    fn delete<'a>(
        &'a self,
        cx: &'a Context<'a>,
        current: &'a Observed,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(Provider::delete(self, cx, current))
    }
    fn find_unrecorded<'a>(
        &'a self,
        aws: &'a Aws,
        desired: &'a Props,
        pending: &'a Creation,
    ) -> BoxFuture<'a, Result<Option<Observed>, AwsError>> {
        Box::pin(Provider::find_unrecorded(self, aws, desired, pending))
    }
    fn settle<'a>(
        &'a self,
        cx: &'a Context<'a>,
        found: &'a Observed,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(Provider::settle(self, cx, found))
    }
}

//! The AWS side: one folder per resource type, each a [`Provider`] listed
//! in `registry.rs`; the trait and its adapter in `provider.rs`; the
//! walker's and the stack's calls dispatched in `dispatch.rs`; the AWS
//! plumbing (clients, pacing, retries, error classification, the `--all`
//! survey) in `aws/`; the normalisers every type shares in `props.rs` and
//! `policy.rs`.

pub mod aws;
mod dispatch;
pub mod policy;
mod props;
pub mod provider;
pub mod registry;

pub mod alarm;
pub mod function;
pub mod kms_alias;
pub mod kms_key;
pub mod log_group;
pub mod queue;
pub mod role;
pub mod table;

pub use aws::{Aws, AwsError, CallCounts, Connection};
pub use dispatch::{find_unrecorded, read, Failure, Hint, Providers};
pub use registry::Registry;

//! What a command of one stack opens first: the AWS clients and the stack's
//! state store, and, for a command that writes, the stack's lock.

use crate::config::Config;
use crate::providers::Aws;
use crate::state::{Lease, StateError, StateStore};
use std::sync::Arc;

pub struct Session {
    pub aws: Aws,
    pub store: Arc<dyn StateStore>,
}

impl Session {
    /// The clients and the store of the configured stack.
    pub async fn open(config: &Config) -> Session {
        Session::with(config, connect(config).await)
    }

    /// As `open`, for a command that creates or reserves (plan, apply): the
    /// clients check the account's limits first.
    pub async fn checking_limits(config: &Config) -> Session {
        Session::with(config, connect(config).await.checking_limits())
    }

    fn with(config: &Config, aws: Aws) -> Session {
        let store = config.backend.open(&config.suffix, &aws);
        Session { aws, store }
    }

    /// With the stack's lock, for `command`, waiting as `--lock-timeout`
    /// says.
    pub async fn lock(
        self,
        config: &Config,
        command: &str,
    ) -> Result<(Session, Lease), StateError> {
        let lease = self.store.lock(command, config.lock_timeout).await?;
        Ok((self, lease))
    }
}

pub async fn connect(config: &Config) -> Aws {
    Aws::connect(&config.connection).await
}

/// The clients for reading the stacks `suffixes` all in one run: what can
/// be listed for all of them is listed once (`providers/aws/survey.rs`).
pub fn surveying(aws: Aws, suffixes: &[crate::names::Suffix]) -> Aws {
    use crate::program::{name, LOG_GROUP, ROLE};
    let log_groups: Vec<String> = suffixes.iter().map(|s| name(s, LOG_GROUP)).collect();
    let roles: Vec<String> = suffixes.iter().map(|s| name(s, ROLE)).collect();
    aws.surveying(
        log_groups.iter().map(String::as_str),
        roles.iter().map(String::as_str),
    )
}

//! Where state lives (docs/design.md, "State"): one boundary, [`StateStore`], with two
//! implementations — a local file (`file://DIR`, with an OS lock) and an S3
//! object (`s3://BUCKET/PREFIX`, with conditional writes and a lock object).
//! The engine and the commands see only the trait; [`Backend`] picks one.

mod file;
pub mod history;
mod lock;
mod s3;

pub use crate::engine::state::{ResourceState, State, FORMAT_VERSION};
pub use lock::LockHolder;

use crate::names::Suffix;
use crate::providers::Aws;
use futures_util::future::BoxFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state {location}: {detail}")]
    Read { location: String, detail: String },
    #[error("state {location} is not valid state JSON ({detail}); it was left untouched. Restore it from {backup} or fix it by hand")]
    Corrupt {
        location: String,
        backup: String,
        detail: String,
    },
    #[error("state {location} has format version {found}; this build understands version {FORMAT_VERSION}. It was left untouched")]
    UnsupportedVersion { location: String, found: u64 },
    #[error(
        "state {location} belongs to {field} {found:?}, not {expected:?}; it was left untouched"
    )]
    Mismatch {
        location: String,
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("cannot write state {location}: {detail}; the previous version is intact")]
    Write { location: String, detail: String },
    #[error("state {location} was changed by someone else since this run read it ({detail}); nothing was written. Run the command again to work from the current state")]
    LostUpdate { location: String, detail: String },
    #[error("state is locked by {holder}{}; wait for it to finish, or give --lock-timeout DURATION (e.g. 5m) to wait{}", if .waited.as_secs() == 0 { String::new() } else { format!(", still after waiting {}s", .waited.as_secs()) }, if .holder.id.is_empty() { String::new() } else { format!(". If that run died, `webhook-stack force-unlock {}` removes its lock", .holder.id) })]
    Locked {
        holder: Box<LockHolder>,
        waited: Duration,
    },
    #[error("the lock is held by a running process, {0}; it is released when that run ends, so there is nothing to force")]
    HeldByLiveProcess(Box<LockHolder>),
    #[error(
        "the lock of {location} is held by {holder}, not lock id {given:?}; nothing was removed"
    )]
    WrongLockId {
        location: String,
        given: String,
        holder: Box<LockHolder>,
    },
    #[error("the lock of {location} is held by {holder}; a remote lock is removed only by its id: `webhook-stack force-unlock {}`", .holder.id)]
    LockIdNeeded {
        location: String,
        holder: Box<LockHolder>,
    },
    #[error("cannot take state lock {location}: {detail}")]
    LockIo { location: String, detail: String },
    #[error("--backend {0:?}: {1}")]
    BadBackend(String, &'static str),
}

/// Proof of holding a stack's lock, for saving. Dropping it releases the
/// lock (a remote lock is deleted only if it still carries this id).
pub struct Lease {
    _held: Box<dyn Send + Sync>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Unlocked {
    NotLocked,
    Cleared(LockHolder),
    /// The lock changed between reading and removing it (its holder
    /// released it, or another run took it): nothing was removed.
    Changed(LockHolder),
}

/// One stack's state, wherever it is kept.
pub trait StateStore: Send + Sync {
    /// Where it is, for messages: `state/dev.json`, `s3://bucket/p/dev.json`.
    fn location(&self) -> String;

    /// The state; `None` when the stack has none yet. Remembers the version
    /// read, which the next save is conditional on.
    fn load(&self) -> BoxFuture<'_, Result<Option<State>, StateError>>;

    /// Bumps the serial and writes, only over the version last read or
    /// written (a write that lost a race fails and changes nothing). On
    /// error the serial is as it was and the previous version is intact.
    fn save<'a>(
        &'a self,
        state: &'a mut State,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StateError>>;

    /// Takes the stack's lock, waiting up to `timeout` (with backoff) while
    /// another run holds it.
    fn lock<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Lease, StateError>>;

    /// Removes a lock left by a run that died (`id` is required remotely).
    fn force_unlock<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Unlocked, StateError>>;

    /// What a user should know about the store itself (e.g. no versioning).
    fn warnings(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { vec![] })
    }
}

/// Where a team's stacks live: `--backend URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    File(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Backend {
    /// `file://DIR` or `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<Backend, StateError> {
        let bad = |why| StateError::BadBackend(url.to_owned(), why);
        if let Some(dir) = url.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(bad("file:// needs a directory, e.g. file://state"));
            }
            return Ok(Backend::File(PathBuf::from(dir)));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid_bucket {
                return Err(bad(
                    "the bucket name must be 3-63 characters of a-z, 0-9, '-' and '.'",
                ));
            }
            return Ok(Backend::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        Err(bad("expected file://DIR or s3://BUCKET/PREFIX"))
    }

    pub fn url(&self) -> String {
        match self {
            Backend::File(dir) => format!("file://{}", dir.display()),
            Backend::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            Backend::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// The store of one stack.
    pub fn open(&self, suffix: &Suffix, aws: &Aws) -> Arc<dyn StateStore> {
        match self {
            Backend::File(dir) => Arc::new(file::FileStore::new(dir, suffix.as_str())),
            Backend::S3 { bucket, prefix } => Arc::new(s3::S3Store::new(
                aws.s3.clone(),
                bucket,
                prefix,
                suffix.as_str(),
            )),
        }
    }

    /// Every stack with state here, sorted.
    pub async fn list(&self, aws: &Aws) -> Result<Vec<Suffix>, StateError> {
        match self {
            Backend::File(dir) => file::list_suffixes(dir),
            Backend::S3 { bucket, prefix } => s3::list_suffixes(&aws.s3, bucket, prefix).await,
        }
    }
}

/// Waiting for a lock that another run holds: backs off up to `max`, says
/// once that it is waiting, and gives up at the timeout naming the holder.
struct Patience {
    start: tokio::time::Instant,
    timeout: Duration,
    backoff: Duration,
    max: Duration,
    announced: bool,
}

impl Patience {
    fn new(timeout: Duration, first: Duration, max: Duration) -> Self {
        Patience {
            // tokio's clock, so that a wait can be tested with time paused.
            start: tokio::time::Instant::now(),
            timeout,
            backoff: first,
            max,
            announced: false,
        }
    }

    /// After a refusal by `holder`: waits before the next attempt, or
    /// returns the error to give up with.
    async fn refused(&mut self, holder: LockHolder) -> Result<(), StateError> {
        let waited = self.start.elapsed();
        if waited >= self.timeout {
            return Err(StateError::Locked {
                holder: Box::new(holder),
                waited,
            });
        }
        if !self.announced {
            self.announced = true;
            eprintln!(
                "Waiting for the state lock held by {holder}, for up to {}s...",
                self.timeout.as_secs()
            );
        }
        self.pause(self.timeout - waited).await;
        Ok(())
    }

    /// Waits the current backoff (at most `left`), then doubles it.
    async fn pause(&mut self, left: Duration) {
        tokio::time::sleep(self.backoff.min(left)).await;
        self.backoff = (self.backoff * 2).min(self.max);
    }
}

/// Parses state bytes, checking the format version first so that a newer
/// format is reported as such, not as a parse error of its unknown fields.
fn decode(bytes: &[u8], location: &str, backup: &str) -> Result<State, StateError> {
    let corrupt = |detail: String| StateError::Corrupt {
        location: location.into(),
        backup: backup.into(),
        detail,
    };
    let raw: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    match raw.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(found) => {
            return Err(StateError::UnsupportedVersion {
                location: location.into(),
                found,
            })
        }
        None => return Err(corrupt("no numeric \"version\" field".into())),
    }
    serde_json::from_value(raw).map_err(|e| corrupt(e.to_string()))
}

fn encode(state: &State) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(state).expect("state serialises");
    json.push(b'\n');
    json
}

/// Refuses a state written for another stack. An empty account (state made
/// by `config set` before any apply) matches any.
pub fn check_belongs(
    state: &State,
    location: &str,
    suffix: &str,
    region: &str,
    account: Option<&str>,
) -> Result<(), StateError> {
    let mismatch = |field, found: &str, expected: &str| StateError::Mismatch {
        location: location.to_owned(),
        field,
        found: found.into(),
        expected: expected.into(),
    };
    if state.suffix != suffix {
        return Err(mismatch("suffix", &state.suffix, suffix));
    }
    if state.region != region {
        return Err(mismatch("region", &state.region, region));
    }
    if let Some(account) = account {
        if !state.account.is_empty() && state.account != account {
            return Err(mismatch("account", &state.account, account));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_file_or_s3_urls() {
        assert_eq!(
            Backend::parse("file://state").unwrap(),
            Backend::File("state".into())
        );
        assert_eq!(
            Backend::parse("s3://team-state/webhooks/").unwrap(),
            Backend::S3 {
                bucket: "team-state".into(),
                prefix: "webhooks".into()
            }
        );
        assert_eq!(
            Backend::parse("s3://team-state").unwrap().url(),
            "s3://team-state"
        );
        for bad in ["state", "file://", "s3://", "s3://Team_State/x", "gs://b/p"] {
            assert!(Backend::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_state_of_another_stack_is_refused() {
        let st = State::new("dev", "us-east-1", "111111111111");
        let p = "state/dev.json";
        assert!(check_belongs(&st, p, "dev", "us-east-1", Some("111111111111")).is_ok());
        let err = check_belongs(&st, p, "prod", "us-east-1", None).unwrap_err();
        assert!(
            err.to_string().contains("suffix \"dev\", not \"prod\""),
            "{err}"
        );
        let err = check_belongs(&st, p, "dev", "us-east-1", Some("222222222222")).unwrap_err();
        assert!(err.to_string().contains("account"), "{err}");
        let unbound = State::new("dev", "us-east-1", "");
        assert!(check_belongs(&unbound, p, "dev", "us-east-1", Some("222222222222")).is_ok());
    }
}

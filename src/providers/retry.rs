//! Bounded retries for AWS's known eventual-consistency errors. Throttling,
//! 5xx and connection errors are retried by the SDK itself (see `aws.rs`);
//! everything not listed here fails fast.

use super::errors::AwsError;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
// tokio's clock, so that tests can run it paused.
use tokio::time::Instant;

/// An error AWS returns for a while after a change it has not yet propagated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eventual {
    /// Lambda, right after the execution role is created or changed:
    /// `InvalidParameterValueException` "The role defined for the function
    /// cannot be assumed by Lambda" or "... does not have permissions ...".
    LambdaRoleNotReady,
    /// Lambda, while a previous update of the function is still in progress:
    /// `ResourceConflictException`.
    LambdaUpdateInProgress,
    /// KMS, while a principal named in a new key policy propagates:
    /// `MalformedPolicyDocumentException`.
    KmsPrincipalNotReady,
    /// DynamoDB, right after a table is created:
    /// `ContinuousBackupsUnavailableException`.
    BackupsNotReady,
    /// CloudWatch Logs, while another operation on the log group runs:
    /// `OperationAbortedException`.
    LogsOperationAborted,
}

impl Eventual {
    fn matches(self, e: &AwsError) -> bool {
        let code = e.code.as_deref().unwrap_or_default();
        match self {
            // Lambda uses one code for many bad parameters: only these two
            // messages mean "the role is not usable yet".
            Eventual::LambdaRoleNotReady => {
                code == "InvalidParameterValueException"
                    && (e.message.contains("cannot be assumed by Lambda")
                        || e.message.contains("does not have permissions"))
            }
            Eventual::LambdaUpdateInProgress => code == "ResourceConflictException",
            Eventual::KmsPrincipalNotReady => code == "MalformedPolicyDocumentException",
            Eventual::BackupsNotReady => code == "ContinuousBackupsUnavailableException",
            Eventual::LogsOperationAborted => code == "OperationAbortedException",
        }
    }

    /// How long AWS may take to settle, from its documentation and practice
    /// (IAM propagation is "usually seconds", sometimes a minute or two).
    fn deadline(self) -> Duration {
        match self {
            Eventual::LambdaRoleNotReady | Eventual::KmsPrincipalNotReady => {
                Duration::from_secs(120)
            }
            Eventual::LambdaUpdateInProgress | Eventual::BackupsNotReady => {
                Duration::from_secs(180)
            }
            Eventual::LogsOperationAborted => Duration::from_secs(60),
        }
    }
}

fn jitter(max: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    max.mul_f64((random % 1000) as f64 / 1000.0)
}

/// Runs `call` until it succeeds, fails with an error that is none of
/// `kinds`, or the matching kind's deadline passes. Backoff doubles from
/// 100 ms up to 5 s, with jitter so that parallel runs do not retry in step.
pub async fn retry_eventual<T, F, Fut>(kinds: &[Eventual], mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let start = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        match call().await {
            Err(e) => {
                let waiting = kinds
                    .iter()
                    .find(|k| k.matches(&e))
                    .is_some_and(|k| start.elapsed() + backoff < k.deadline());
                if !waiting {
                    return Err(e);
                }
                tokio::time::sleep(backoff / 2 + jitter(backoff / 2)).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            ok => return ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn err(code: &str, msg: &str) -> AwsError {
        AwsError {
            operation: "CreateFunction",
            code: Some(code.into()),
            message: msg.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_only_the_listed_error() {
        let calls = Cell::new(0);
        let r = retry_eventual(&[Eventual::LambdaRoleNotReady], || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 4 {
                    Err(err(
                        "InvalidParameterValueException",
                        "The role defined for the function cannot be assumed by Lambda.",
                    ))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 4);

        calls.set(0);
        let r: Result<(), _> = retry_eventual(&[Eventual::LambdaRoleNotReady], || {
            calls.set(calls.get() + 1);
            async {
                Err(err(
                    "InvalidParameterValueException",
                    "MemorySize must be ...",
                ))
            }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.get(), 1, "other errors fail fast");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline() {
        let calls = Cell::new(0u32);
        let r: Result<(), _> = retry_eventual(&[Eventual::BackupsNotReady], || {
            calls.set(calls.get() + 1);
            async { Err(err("ContinuousBackupsUnavailableException", "not yet")) }
        })
        .await;
        assert!(r.is_err());
        assert!(calls.get() > 5 && calls.get() < 100, "{}", calls.get());
    }
}

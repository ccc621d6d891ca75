//! Bounded retries for AWS's known eventual-consistency ("propagation")
//! errors: the catalogue below, each with where it comes from. Throttling,
//! 5xx and connection errors are retried by the SDK itself (see `aws.rs`);
//! everything not listed here fails fast.
//!
//! Sources: the Terraform AWS provider (hashicorp/terraform-provider-aws,
//! paths under `internal/service/`), which met each of these on real AWS,
//! and AWS's own pages on eventual consistency:
//! KMS <https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html>,
//! IAM <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>.
//! Deadlines follow Terraform's where it has one, capped at 10 minutes.

use super::errors::AwsError;
use std::future::Future;
use std::time::Duration;
// tokio's clock, so that tests can run it paused.
use tokio::time::Instant;

/// An error AWS returns for a while after a change it has not yet propagated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eventual {
    /// Lambda CreateFunction / UpdateFunctionConfiguration right after the
    /// execution role is created or changed: `InvalidParameterValueException`
    /// "The role defined for the function cannot be assumed by Lambda", or
    /// "The provided execution role does not have permissions to call
    /// PutTraceSegments on XRAY" (its new inline policy not yet seen).
    /// Source: lambda/function.go `retryFunctionOp` (5 min, 15 min lately).
    LambdaRoleNotReady,
    /// Lambda CreateFunction / UpdateFunctionConfiguration with an
    /// environment encrypted by a customer key, while the new role (or key
    /// policy) propagates into KMS: `InvalidParameterValueException` "Lambda
    /// was unable to configure access to your environment variables because
    /// the KMS key is invalid for CreateGrant". (Its sibling "Key Aliases are
    /// not supported" is a real error and is not retried.)
    /// Source: lambda/function.go `retryFunctionOp`; provider issue #4633.
    LambdaKmsGrantNotReady,
    /// Lambda, while the function is Pending or a previous update is in
    /// progress: `ResourceConflictException` "The operation cannot be
    /// performed at this time. An update is in progress for resource" (not
    /// its sibling "Function already exist", a real error). On
    /// UpdateFunctionConfiguration, UpdateFunctionCode and
    /// PutFunctionConcurrency.
    /// Source: lambda/function.go `retryFunctionOp`; Lambda's "function
    /// states" page.
    LambdaUpdateInProgress,
    /// KMS CreateKey / PutKeyPolicy while a principal named in the policy
    /// propagates: `MalformedPolicyDocumentException`.
    /// Source: kms/wait.go `waitIAMPropagation` (2 min), kms/key.go
    /// `updateKeyPolicy` (3 min).
    KmsPrincipalNotReady,
    /// KMS EnableKeyRotation / CreateAlias / PutKeyPolicy right after
    /// CreateKey, before the new key is visible: `NotFoundException`.
    /// Source: kms/key.go `updateKeyRotationEnabled`, kms/alias.go
    /// `resourceAliasCreate` (10 min); the KMS eventual-consistency page.
    KmsKeyNotYetVisible,
    /// DynamoDB UpdateContinuousBackups right after a table is created:
    /// `ContinuousBackupsUnavailableException` "Backups are being enabled".
    /// Source: dynamodb/table.go `updatePITR` (20 min).
    BackupsNotReady,
    /// DynamoDB UpdateContinuousBackups / UpdateTable while the table is
    /// still CREATING or UPDATING: `ResourceInUseException`.
    /// Source: DynamoDB API reference (ResourceInUseException); Terraform
    /// avoids it by waiting for ACTIVE (dynamodb/table.go `waitTableActive`).
    TableBusy,
    /// CloudWatch Logs, while another operation on the log group runs:
    /// `OperationAbortedException` "A conflicting operation is currently in
    /// progress against this resource. Please try again."
    /// Source: logs/group.go `resourceGroupDelete` (1 min); the Logs API
    /// reference lists it for CreateLogGroup and PutRetentionPolicy.
    LogsOperationAborted,
    /// CloudWatch Logs CreateLogGroup / AssociateKmsKey right after the key
    /// or its policy was created: `AccessDeniedException` "The specified KMS
    /// key does not exist or is not allowed to be used". The same message
    /// means a key policy without the Logs statement, so the wait is short.
    /// Source: the KMS eventual-consistency page; provider issue #29282.
    LogsKmsKeyNotReady,
    /// IAM PutRolePolicy / TagRole right after CreateRole: `NoSuchEntity`.
    /// Source: the IAM eventual-consistency page; iam/role.go reads with
    /// `RetryWhenNewResourceNotFound` (2 min).
    IamRoleNotYetVisible,
    /// IAM CreateRole / PutRolePolicy / DeleteRolePolicy while another change
    /// to the role is applied: `ConcurrentModification`.
    /// Source: iam/role.go `retryCreateRole` (2 min).
    IamConcurrentModification,
    /// IAM CreateRole while a principal in the trust policy propagates:
    /// `MalformedPolicyDocument` "Invalid principal in policy".
    /// Source: iam/role.go `retryCreateRole` (2 min).
    IamPrincipalNotReady,
    /// IAM DeleteRole while its policies are still seen attached:
    /// `DeleteConflict`. Source: iam/role.go `deleteRole` (2 min).
    IamDeleteConflict,
    /// SQS CreateQueue within 60 s of deleting a queue of the same name
    /// (a replacement, or the setting turned off and on):
    /// `QueueDeletedRecently`. Source: the SQS API reference, CreateQueue
    /// ("you must wait 60 seconds").
    SqsQueueDeletedRecently,
}

impl Eventual {
    /// Every entry, for the tests.
    #[cfg(test)]
    pub const CATALOGUE: [Eventual; 14] = [
        Eventual::LambdaRoleNotReady,
        Eventual::LambdaKmsGrantNotReady,
        Eventual::LambdaUpdateInProgress,
        Eventual::KmsPrincipalNotReady,
        Eventual::KmsKeyNotYetVisible,
        Eventual::BackupsNotReady,
        Eventual::TableBusy,
        Eventual::LogsOperationAborted,
        Eventual::LogsKmsKeyNotReady,
        Eventual::IamRoleNotYetVisible,
        Eventual::IamConcurrentModification,
        Eventual::IamPrincipalNotReady,
        Eventual::IamDeleteConflict,
        Eventual::SqsQueueDeletedRecently,
    ];

    pub fn matches(self, e: &AwsError) -> bool {
        let code = e.code.as_deref().unwrap_or_default();
        let says = |text: &str| e.message.contains(text);
        match self {
            // Lambda uses one code for many bad parameters: only these
            // messages mean "not usable yet".
            Eventual::LambdaRoleNotReady => {
                code == "InvalidParameterValueException"
                    && (says("cannot be assumed by Lambda") || says("does not have permissions"))
            }
            Eventual::LambdaKmsGrantNotReady => {
                code == "InvalidParameterValueException"
                    && says("KMS key is invalid for CreateGrant")
                    && !says("Key Aliases are not supported")
            }
            // Not "Function already exist", which is the same code.
            Eventual::LambdaUpdateInProgress => {
                code == "ResourceConflictException"
                    && (says("The operation cannot be performed at this time")
                        || says("update is in progress"))
            }
            Eventual::KmsPrincipalNotReady => code == "MalformedPolicyDocumentException",
            Eventual::KmsKeyNotYetVisible => code == "NotFoundException",
            Eventual::BackupsNotReady => code == "ContinuousBackupsUnavailableException",
            Eventual::TableBusy => code == "ResourceInUseException",
            Eventual::LogsOperationAborted => code == "OperationAbortedException",
            Eventual::LogsKmsKeyNotReady => {
                (code == "AccessDeniedException" || code == "InvalidParameterException")
                    && (says("The specified KMS key does not exist or is not allowed to be used")
                        || says("The specified KMS Key Id could not be found"))
            }
            Eventual::IamRoleNotYetVisible => code == "NoSuchEntity",
            Eventual::IamConcurrentModification => code == "ConcurrentModification",
            Eventual::IamPrincipalNotReady => {
                code == "MalformedPolicyDocument" && says("Invalid principal in policy")
            }
            Eventual::IamDeleteConflict => code == "DeleteConflict",
            Eventual::SqsQueueDeletedRecently => code.ends_with("QueueDeletedRecently"),
        }
    }

    /// How long AWS may take to settle (IAM propagation is "usually
    /// seconds", sometimes a minute or two; Terraform's bounds, capped).
    pub fn deadline(self) -> Duration {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        match self {
            Eventual::LambdaRoleNotReady
            | Eventual::LambdaKmsGrantNotReady
            | Eventual::LambdaUpdateInProgress => minutes(5),
            Eventual::KmsPrincipalNotReady => minutes(3),
            Eventual::KmsKeyNotYetVisible => minutes(5),
            Eventual::BackupsNotReady => minutes(10),
            Eventual::TableBusy => minutes(5),
            Eventual::LogsOperationAborted | Eventual::LogsKmsKeyNotReady => minutes(1),
            Eventual::IamRoleNotYetVisible
            | Eventual::IamConcurrentModification
            | Eventual::IamPrincipalNotReady
            | Eventual::IamDeleteConflict => minutes(2),
            Eventual::SqsQueueDeletedRecently => minutes(2),
        }
    }
}

fn jitter(max: Duration) -> Duration {
    max.mul_f64(crate::ambient::fraction())
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

    /// One real message per entry, and a look-alike that must not match.
    #[test]
    fn each_catalogue_entry_matches_its_error_and_not_a_real_failure() {
        let cases: [(Eventual, &str, &str, &str); 14] = [
            (Eventual::LambdaRoleNotReady, "InvalidParameterValueException",
             "The role defined for the function cannot be assumed by Lambda.",
             "Value 99999 at 'memorySize' failed to satisfy constraint"),
            (Eventual::LambdaKmsGrantNotReady, "InvalidParameterValueException",
             "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings.",
             "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Key Aliases are not supported"),
            (Eventual::LambdaUpdateInProgress, "ResourceConflictException",
             "The operation cannot be performed at this time. An update is in progress for resource",
             "Function already exist: webhook-processor-dev"),
            (Eventual::KmsPrincipalNotReady, "MalformedPolicyDocumentException",
             "Policy contains a statement with one or more invalid principals.", ""),
            (Eventual::KmsKeyNotYetVisible, "NotFoundException", "Key 'x' does not exist", ""),
            (Eventual::BackupsNotReady, "ContinuousBackupsUnavailableException",
             "Backups are being enabled for the table", ""),
            (Eventual::TableBusy, "ResourceInUseException",
             "Attempt to change a resource which is still in use: Table is being created", ""),
            (Eventual::LogsOperationAborted, "OperationAbortedException",
             "A conflicting operation is currently in progress against this resource. Please try again.", ""),
            (Eventual::LogsKmsKeyNotReady, "AccessDeniedException",
             "The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:...'",
             "User: arn:aws:iam::1:user/x is not authorized to perform: logs:CreateLogGroup"),
            (Eventual::IamRoleNotYetVisible, "NoSuchEntity", "The role with name r cannot be found.", ""),
            (Eventual::IamConcurrentModification, "ConcurrentModification",
             "Rate exceeded for concurrent modification", ""),
            (Eventual::IamPrincipalNotReady, "MalformedPolicyDocument",
             "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/new\"",
             "Syntax errors in policy."),
            (Eventual::IamDeleteConflict, "DeleteConflict",
             "Cannot delete entity, must delete policies first.", ""),
            (Eventual::SqsQueueDeletedRecently, "AWS.SimpleQueueService.QueueDeletedRecently",
             "You must wait 60 seconds after deleting a queue before you can create another with the same name.", ""),
        ];
        for (kind, code, message, look_alike) in cases {
            assert!(kind.matches(&err(code, message)), "{kind:?}");
            if !look_alike.is_empty() {
                assert!(
                    !kind.matches(&err(code, look_alike)),
                    "{kind:?}: {look_alike}"
                );
            }
            assert!(
                !kind.matches(&err("ValidationException", message)),
                "{kind:?}"
            );
            assert!(kind.deadline() <= Duration::from_secs(600), "{kind:?}");
        }
        assert!(Eventual::CATALOGUE
            .iter()
            .all(|k| cases.iter().any(|c| c.0 == *k)));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline() {
        let calls = Cell::new(0u32);
        let r: Result<(), _> = retry_eventual(&[Eventual::LogsOperationAborted], || {
            calls.set(calls.get() + 1);
            async { Err(err("OperationAbortedException", "not yet")) }
        })
        .await;
        assert!(r.is_err());
        assert!(calls.get() > 5 && calls.get() < 100, "{}", calls.get());
    }
}

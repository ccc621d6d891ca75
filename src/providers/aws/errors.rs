//! AWS error classification, in one place.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error as StdError;

/// A failed AWS call: the operation, AWS's error code and its message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} failed: {}{message}", .code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    /// An error found by our own checks of an AWS answer.
    pub fn invalid(operation: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            operation,
            code: None,
            message: message.into(),
        }
    }
}

/// Converts an SDK error, keeping the service's code and message when there
/// is one, and the whole chain of causes otherwise (timeouts, connection).
pub fn aws_error<E>(operation: &'static str) -> impl Fn(SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    move |err| match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let status = se.raw().status().as_u16();
            let mut error = AwsError {
                operation,
                code: e.code().map(str::to_owned),
                message: match e.message() {
                    Some(m) => m.to_owned(),
                    // No error document (e.g. an HTML error page): the HTTP
                    // status is what there is to say.
                    None if e.code().is_none() => format!(
                        "HTTP {status} with no AWS error in the body ({})",
                        causes(e)
                    ),
                    None => format!("HTTP {status}"),
                },
            };
            if is_access_denied(error.code.as_deref()) {
                error.message.push_str(PERMISSIONS_HINT);
            }
            error
        }
        _ => {
            let chain = causes(&err);
            AwsError {
                operation,
                code: None,
                message: if chain.contains("loading credentials")
                    || chain.contains("no credentials")
                    || chain.contains("the credential provider was not enabled")
                {
                    no_credentials(&last_cause(&err))
                } else {
                    chain
                },
            }
        }
    }
}

/// What a refusal adds to AWS's own words (which name the action and the
/// resource).
pub const PERMISSIONS_HINT: &str =
    " (`webhook-stack permissions` prints the IAM policy this stack needs)";

/// AWS's codes for "this caller may not": each service has its own.
pub fn is_access_denied(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "AuthorizationError"
        )
    )
}

/// No credential source gave any: the sources tried (the SDK's own list when
/// it has one) and how to set one, as Terraform says it.
fn no_credentials(last: &str) -> String {
    let tried = match last.split_once("Attempted:") {
        Some((_, list)) => list.trim_end().to_owned(),
        None => format!(
            "\n  the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the profile \
             (--profile or AWS_PROFILE, else `default`) in ~/.aws/credentials and ~/.aws/config, \
             web identity, the ECS container endpoint, EC2 instance metadata\n  (last: {last})"
        ),
    };
    format!(
        "no AWS credentials found. Sources tried, in order:{tried}\n\
         Set one: `aws configure`, `export AWS_PROFILE=NAME` (after `aws sso login` for SSO), or \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for a local emulator, --endpoint-url with test keys"
    )
}

/// An error and its causes, each once, on one line: what happened without
/// the SDK's debug dump of the whole response.
fn causes(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

fn last_cause(err: &(dyn StdError + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// Whether AWS answered "no such resource", whichever service asked: the
/// one place that knows each service's code for it.
pub fn is_not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    const CODES: [&str; 7] = [
        "ResourceNotFoundException", // Lambda, DynamoDB, CloudWatch Logs
        "NotFoundException",         // KMS
        "NoSuchEntity",              // IAM
        "NoSuchKey",                 // S3
        "ResourceNotFound",          // CloudWatch
        "QueueDoesNotExist",         // SQS (JSON protocol)
        "AWS.SimpleQueueService.NonExistentQueue", // SQS (query protocol's code)
    ];
    service_error(err).is_some_and(|e| e.code().is_some_and(|c| CODES.contains(&c)))
}

/// The service error inside an SDK error, if AWS answered with one.
pub fn service_error<E, R>(err: &SdkError<E, R>) -> Option<&E> {
    match err {
        SdkError::ServiceError(se) => Some(se.err()),
        _ => None,
    }
}

//! AWS error classification, in one place.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
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
            AwsError {
                operation,
                code: e.code().map(str::to_owned),
                message: match e.message() {
                    Some(m) => m.to_owned(),
                    // No error document (e.g. an HTML error page): the HTTP
                    // status is what there is to say.
                    None if e.code().is_none() => format!(
                        "HTTP {status} with no AWS error in the body ({})",
                        DisplayErrorContext(e)
                    ),
                    None => format!("HTTP {status}"),
                },
            }
        }
        _ => AwsError {
            operation,
            code: None,
            message: DisplayErrorContext(&err).to_string(),
        },
    }
}

/// The service error inside an SDK error, if AWS answered with one.
pub fn service_error<E, R>(err: &SdkError<E, R>) -> Option<&E> {
    match err {
        SdkError::ServiceError(se) => Some(se.err()),
        _ => None,
    }
}

//! Where the transaction JSON is in an invocation payload.
//!
//! Two shapes arrive:
//! - a direct invoke (`aws lambda invoke`, the seed's test): the payload *is* the
//!   transaction object;
//! - an HTTP event from a Lambda function URL or API Gateway: the transaction object is the
//!   text of `body`, base64-encoded when `isBase64Encoded` is true.
//!
//! A payload is an HTTP event when it has no `transactionId` member and has one of the
//! members only those events carry (`body`, `isBase64Encoded`, `requestContext`,
//! `httpMethod`, `routeKey`). HTTP headers are not used: there is no signature to check in
//! this design, and the body is parsed as JSON whatever its declared content type.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::value::RawValue;

use crate::json::{self, JsonObject, ObjectError};
use crate::rejection::Rejection;

/// Largest transaction document accepted (direct payload, or decoded HTTP body). The six
/// fields need well under 1 KiB; the margin is for unknown extra fields, which are ignored.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

const HTTP_MEMBERS: [&str; 5] = [
    "body",
    "isBase64Encoded",
    "requestContext",
    "httpMethod",
    "routeKey",
];

/// How the event reached the function (logged, not otherwise used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Direct,
    Http,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Direct => "direct",
            Source::Http => "http",
        }
    }
}

/// The text of the transaction object carried by `payload`.
pub fn transaction_document(payload: &RawValue) -> Result<(Source, Cow<'_, str>), Rejection> {
    let envelope = JsonObject::parse(payload.get()).map_err(|e| object_error("payload", e))?;
    let is_http =
        !envelope.contains("transactionId") && HTTP_MEMBERS.iter().any(|m| envelope.contains(m));
    if !is_http {
        check_size("payload", payload.get().len())?;
        return Ok((Source::Direct, Cow::Borrowed(payload.get())));
    }

    let encoded = match envelope.get("isBase64Encoded") {
        None => false,
        Some(v) => serde_json::from_str::<Option<bool>>(v.get())
            .map_err(|_| {
                Rejection::field(
                    "isBase64Encoded",
                    format_args!("must be a boolean, not {}", json::type_name(v)),
                )
            })?
            .unwrap_or(false),
    };
    let body = match envelope.get("body") {
        Some(v) if v.get() != "null" => v,
        _ => {
            return Err(Rejection::field(
                "body",
                "is required (the request had no body)",
            ))
        }
    };
    if !body.get().starts_with('"') {
        return Err(Rejection::field(
            "body",
            format_args!("must be a string, not {}", json::type_name(body)),
        ));
    }
    // Refuse absurd sizes before unescaping. A body within the limit takes at most 6 raw
    // characters per byte (`\u00XX` escapes), or 4/3 when base64 (a few `\/` aside).
    if body.get().len() > 8 * MAX_DOCUMENT_BYTES {
        return Err(too_large("body"));
    }
    let text: String = serde_json::from_str(body.get())
        .map_err(|_| Rejection::field("body", "is not a valid JSON string"))?;
    let text = if encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|_| Rejection::field("body", "is not valid base64"))?;
        String::from_utf8(bytes).map_err(|_| Rejection::field("body", "is not valid UTF-8"))?
    } else {
        text
    };
    check_size("body", text.len())?;
    if text.trim().is_empty() {
        return Err(Rejection::field(
            "body",
            "is required (the request had no body)",
        ));
    }
    Ok((Source::Http, Cow::Owned(text)))
}

/// The rejection for a document (`payload` or `body`) that is not a JSON object.
pub fn object_error(field: &'static str, error: ObjectError) -> Rejection {
    match error {
        ObjectError::NotAnObject => Rejection::field(field, "must be a JSON object"),
        ObjectError::Syntax { line, column } => Rejection::field(
            field,
            format_args!("is not valid JSON (line {line}, column {column})"),
        ),
    }
}

fn check_size(field: &'static str, len: usize) -> Result<(), Rejection> {
    if len > MAX_DOCUMENT_BYTES {
        return Err(too_large(field));
    }
    Ok(())
}

fn too_large(field: &'static str) -> Rejection {
    Rejection::field(
        field,
        format_args!("must be at most {MAX_DOCUMENT_BYTES} bytes"),
    )
}

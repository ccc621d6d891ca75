//! The Lambda function `webhook-processor-S`: arm64, the handler's code,
//! reserved concurrency, X-Ray, its environment encrypted with the key.

use super::{always, props, Body, Resource, StackContext, KMS_KEY, LOG_GROUP, ROLE, TABLE};
use crate::engine::expr::{lit, object, output};
use crate::providers::function::KIND;
use serde_json::{json, Value};

pub const FUNCTION: &str = "function";

pub const RESOURCE: Resource = Resource {
    key: FUNCTION,
    kind: KIND,
    name: |s| format!("webhook-processor-{s}"),
    limit: Some(("Lambda (function name)", 64)),
    declared_when: always,
    declare,
    amend: None,
    outputs: &[("LambdaFunctionName", "name"), ("LambdaFunctionArn", "arn")],
};

fn declare(ctx: &StackContext) -> Body {
    let s = &ctx.settings;
    Body {
        props: props([
            ("name", lit(ctx.name(FUNCTION))),
            ("runtime", lit("provided.al2023")),
            ("handler", lit("bootstrap")),
            ("architectures", lit(json!(["arm64"]))),
            ("memory_size", lit(s.memory_size)),
            ("timeout", lit(s.timeout)),
            ("reserved_concurrency", lit(json!(s.reserved_concurrency))),
            ("tracing_mode", lit("Active")),
            ("role", output(ROLE, "arn")),
            (
                "environment",
                object([
                    ("TABLE_NAME", output(TABLE, "name")),
                    ("ENVIRONMENT_SUFFIX", lit(ctx.suffix.as_str())),
                    ("LOG_LEVEL", lit(s.log_level.as_str())),
                ]),
            ),
            ("kms_key_arn", output(KMS_KEY, "arn")),
            ("code_sha256", lit(ctx.code_sha256.clone())),
            // Where Lambda sends the events of asynchronous invocations it
            // gave up on: nowhere, unless a dead-letter queue is declared.
            ("dead_letter_target", lit(Value::Null)),
            // Not set by the seed, so anything there is drift (the
            // security-relevant properties): no layers, logs to the default
            // group, no resource-based policy, no function URL.
            ("layers", lit(json!([]))),
            (
                "logging_config",
                lit(json!({"log_format": "Text", "log_group": ctx.name(LOG_GROUP)})),
            ),
            ("resource_policy", lit(Value::Null)),
            ("function_url", lit(Value::Null)),
            ("tags", ctx.tags()),
        ]),
        // The function writes to its default log group, which must exist
        // first so that it is created with our retention and key.
        depends_on: vec![LOG_GROUP],
    }
}

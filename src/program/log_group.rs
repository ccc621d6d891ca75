//! The function's log group, `/aws/lambda/webhook-processor-S`, encrypted
//! with the stack's key.

use super::{always, props, Body, Resource, StackContext, KMS_KEY};
use crate::engine::expr::{lit, output};
use crate::providers::log_group::KIND;

pub const LOG_GROUP: &str = "log_group";

pub const RESOURCE: Resource = Resource {
    key: LOG_GROUP,
    kind: KIND,
    name: |s| format!("/aws/lambda/webhook-processor-{s}"),
    limit: Some(("CloudWatch Logs (log group name)", 512)),
    declared_when: always,
    declare,
    amend: None,
    outputs: &[("LogGroupName", "name")],
};

/// The log group's ARN, known without creating it (the key policy names it).
pub(super) fn arn(ctx: &StackContext) -> String {
    ctx.arn("logs", &format!("log-group:{}", ctx.name(LOG_GROUP)))
}

fn declare(ctx: &StackContext) -> Body {
    Body {
        props: props([
            ("name", lit(ctx.name(LOG_GROUP))),
            ("retention_in_days", lit(ctx.settings.log_retention_days)),
            ("kms_key_id", output(KMS_KEY, "arn")),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

//! The function's IAM role, `webhook-processor-role-S`: trusted by Lambda
//! alone, with one least-privilege inline policy.

use super::{always, props, Body, Resource, StackContext, KMS_KEY, LOG_GROUP, TABLE};
use crate::engine::expr::{concat_expr, lit, object, output, Expr};
use crate::names::Suffix;
use crate::providers::role::KIND;
use serde_json::json;

pub const ROLE: &str = "role";

pub const RESOURCE: Resource = Resource {
    key: ROLE,
    kind: KIND,
    name: |s| format!("webhook-processor-role-{s}"),
    // The inline policy's name is two characters longer and IAM allows it
    // 128, so it fits whenever the role's does.
    limit: Some(("IAM (role name)", 64)),
    declared_when: always,
    declare,
    amend: None,
    outputs: &[("IAMRoleName", "name"), ("IAMRoleArn", "arn")],
};

/// The name of the role's one inline policy.
pub fn policy_name(s: &Suffix) -> String {
    format!("webhook-processor-policy-{s}")
}

/// One Allow statement of the inline policy.
pub(super) fn statement(sid: &str, actions: &[&str], resource: Expr) -> Expr {
    object([
        ("Sid", lit(sid)),
        ("Effect", lit("Allow")),
        ("Action", lit(json!(actions))),
        ("Resource", resource),
    ])
}

/// Adds `statement` to the role's inline policy (for a resource that the
/// function uses only when a setting declares it).
pub(super) fn allow(role: &mut crate::engine::model::Declared, statement: Expr) {
    let Some(Expr::Object(policies)) = role.props.get_mut("inline_policies") else {
        unreachable!("the role declares its inline policies as an object");
    };
    let Some((_, Expr::Object(doc))) = policies.first_mut() else {
        unreachable!("the role declares one inline policy");
    };
    let Some((_, Expr::List(statements))) = doc.iter_mut().find(|(k, _)| k == "Statement") else {
        unreachable!("the inline policy declares its statements as a list");
    };
    statements.push(statement);
}

fn declare(ctx: &StackContext) -> Body {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    });
    let policy = object([
        ("Version", lit("2012-10-17")),
        (
            "Statement",
            Expr::List(vec![
                statement(
                    "WriteLogs",
                    &["logs:CreateLogStream", "logs:PutLogEvents"],
                    concat_expr!(output(LOG_GROUP, "arn"), ":*"),
                ),
                statement(
                    "ReadWriteTransactions",
                    &[
                        "dynamodb:PutItem",
                        "dynamodb:GetItem",
                        "dynamodb:UpdateItem",
                    ],
                    output(TABLE, "arn"),
                ),
                statement(
                    "DecryptEnvironment",
                    &["kms:Decrypt"],
                    output(KMS_KEY, "arn"),
                ),
                // X-Ray has no resource-level permissions: "*" is the only form.
                statement(
                    "XRayTracing",
                    &["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    lit("*"),
                ),
            ]),
        ),
    ]);
    Body {
        props: props([
            ("name", lit(ctx.name(ROLE))),
            ("assume_role_policy", lit(trust)),
            (
                "inline_policies",
                object([(policy_name(&ctx.suffix), policy)]),
            ),
            ("managed_policy_arns", lit(json!([]))),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

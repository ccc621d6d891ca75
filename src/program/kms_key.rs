//! The KMS key that encrypts the function's environment and the log group.
//! It has no name: it is found through its alias.

use super::{always, props, Body, Resource, StackContext};
use crate::engine::expr::lit;
use crate::providers::kms_key::KIND;
use serde_json::json;

pub const KMS_KEY: &str = "kms_key";

pub const RESOURCE: Resource = Resource {
    key: KMS_KEY,
    kind: KIND,
    name: |s| super::kms_alias::alias_name(s),
    limit: None,
    declared_when: always,
    declare,
    amend: None,
    outputs: &[("KMSKeyId", "key_id"), ("KMSKeyArn", "arn")],
};

fn declare(ctx: &StackContext) -> Body {
    let (r, a) = (&ctx.region, &ctx.account);
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnableRootAccount",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{a}:root")},
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "AllowCloudWatchLogs",
                "Effect": "Allow",
                "Principal": {"Service": format!("logs.{r}.amazonaws.com")},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": super::log_group::arn(ctx)}}
            },
            {
                "Sid": "AllowLambdaService",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": a}}
            }
        ]
    });
    Body {
        props: props([
            (
                "description",
                lit(format!(
                    "webhook-processor-{}: Lambda environment variables and CloudWatch Logs",
                    ctx.suffix
                )),
            ),
            ("key_usage", lit("ENCRYPT_DECRYPT")),
            ("key_spec", lit("SYMMETRIC_DEFAULT")),
            ("enable_key_rotation", lit(true)),
            ("key_state", lit("Enabled")),
            ("policy", lit(policy)),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

//! The DynamoDB table `transactions-S` that the function records into.

use super::{always, props, Body, Resource, StackContext};
use crate::engine::expr::lit;
use crate::providers::table::KIND;
use serde_json::{json, Value};

pub const TABLE: &str = "table";

pub const RESOURCE: Resource = Resource {
    key: TABLE,
    kind: KIND,
    name: |s| format!("transactions-{s}"),
    limit: Some(("DynamoDB (table name)", 255)),
    declared_when: always,
    declare,
    amend: None,
    outputs: &[("DynamoDBTableName", "name"), ("DynamoDBTableArn", "arn")],
};

fn declare(ctx: &StackContext) -> Body {
    Body {
        props: props([
            ("name", lit(ctx.name(TABLE))),
            (
                "partition_key",
                lit(json!({"name": "transactionId", "type": "S"})),
            ),
            // The full key schema: no sort key.
            ("sort_key", lit(Value::Null)),
            ("billing_mode", lit("PAY_PER_REQUEST")),
            ("sse_enabled", lit(true)),
            // The AWS-managed key `aws/dynamodb`, as the seed: no customer key.
            ("sse_kms_key", lit(Value::Null)),
            ("point_in_time_recovery", lit(true)),
            ("deletion_protection", lit(ctx.settings.deletion_protection)),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

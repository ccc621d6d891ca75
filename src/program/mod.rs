//! The stack, declared as code: the six resources of the CloudFormation stack with their
//! properties and the references between them. References to other
//! resources' outputs become the dependency graph's edges.

use crate::concat_expr;
use crate::engine::expr::{lit, object, output, Expr};
use crate::engine::model::Declared;
mod alarms;

use crate::names::{Names, Suffix};
use crate::providers::{function, kms_alias, kms_key, log_group, role, table};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const KMS_KEY: &str = "kms_key";
pub const KMS_ALIAS: &str = "kms_alias";
pub const LOG_GROUP: &str = "log_group";
pub const TABLE: &str = "table";
pub const ROLE: &str = "role";
pub const FUNCTION: &str = "function";

/// Every resource the program may declare, by logical name (the alarms
/// only with the `alarms` setting).
pub const RESOURCES: [&str; 10] = [
    KMS_KEY,
    KMS_ALIAS,
    LOG_GROUP,
    TABLE,
    ROLE,
    FUNCTION,
    alarms::ERROR_RATE,
    alarms::DURATION,
    alarms::THROTTLES,
    alarms::TABLE_ERRORS,
];

/// The tunable values of the stack; [`Settings::default`] is the CloudFormation stack's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub memory_size: i32,
    pub timeout: i32,
    pub reserved_concurrency: i32,
    pub log_retention_days: i32,
    pub log_level: String,
    /// Tags added to the three the stack always sets.
    pub extra_tags: BTreeMap<String, String>,
    /// The seed's four CloudWatch alarms (off by default).
    #[serde(default)]
    pub alarms: bool,
    /// Where the alarms send (AlarmActions and OKActions).
    #[serde(default)]
    pub alarm_topic_arn: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            memory_size: 1024,
            timeout: 30,
            reserved_concurrency: 100,
            log_retention_days: 30,
            log_level: "info".into(),
            extra_tags: BTreeMap::new(),
            alarms: false,
            alarm_topic_arn: None,
        }
    }
}

/// What the program needs to know about where it is deployed.
#[derive(Debug, Clone)]
pub struct StackContext {
    pub suffix: Suffix,
    pub region: String,
    pub account: String,
    /// base64(sha256(zip)) of the function's code package.
    pub code_sha256: String,
    pub settings: Settings,
}

impl StackContext {
    pub fn names(&self) -> Names {
        self.suffix.names()
    }

    pub(crate) fn tags(&self) -> Expr {
        let mut tags = json!({
            "Project": "webhook-processor",
            "Environment": self.suffix.as_str(),
            "ManagedBy": "webhook-stack",
        });
        for (k, v) in &self.settings.extra_tags {
            tags[k] = json!(v);
        }
        lit(tags)
    }

    fn log_group_arn(&self) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            self.region,
            self.account,
            self.names().log_group
        )
    }
}

/// Declares the stack. The order here is only for reading; the engine orders
/// work by the references.
pub fn declare(ctx: &StackContext) -> Vec<Declared> {
    let mut resources = vec![
        kms_key(ctx),
        kms_alias(ctx),
        log_group(ctx),
        table(ctx),
        role(ctx),
        function(ctx),
    ];
    if ctx.settings.alarms {
        resources.extend(alarms::declare(ctx));
    }
    resources
}

pub(crate) fn props<const N: usize>(
    entries: [(&'static str, Expr); N],
) -> BTreeMap<&'static str, Expr> {
    entries.into_iter().collect()
}

fn kms_key(ctx: &StackContext) -> Declared {
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
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": ctx.log_group_arn()}}
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
    Declared {
        key: KMS_KEY,
        kind: kms_key::KIND,
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

fn kms_alias(ctx: &StackContext) -> Declared {
    Declared {
        key: KMS_ALIAS,
        kind: kms_alias::KIND,
        props: props([
            ("name", lit(ctx.names().alias)),
            ("target_key_id", output(KMS_KEY, "key_id")),
        ]),
        depends_on: vec![],
    }
}

fn log_group(ctx: &StackContext) -> Declared {
    Declared {
        key: LOG_GROUP,
        kind: log_group::KIND,
        props: props([
            ("name", lit(ctx.names().log_group)),
            ("retention_in_days", lit(ctx.settings.log_retention_days)),
            ("kms_key_id", output(KMS_KEY, "arn")),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

fn table(ctx: &StackContext) -> Declared {
    Declared {
        key: TABLE,
        kind: table::KIND,
        props: props([
            ("name", lit(ctx.names().table)),
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
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

fn statement(sid: &str, actions: &[&str], resource: Expr) -> Expr {
    object([
        ("Sid", lit(sid)),
        ("Effect", lit("Allow")),
        ("Action", lit(json!(actions))),
        ("Resource", resource),
    ])
}

fn role(ctx: &StackContext) -> Declared {
    let names = ctx.names();
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
    Declared {
        key: ROLE,
        kind: role::KIND,
        props: props([
            ("name", lit(names.role)),
            ("assume_role_policy", lit(trust)),
            ("inline_policies", object([(names.role_policy, policy)])),
            ("managed_policy_arns", lit(json!([]))),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

fn function(ctx: &StackContext) -> Declared {
    let names = ctx.names();
    Declared {
        key: FUNCTION,
        kind: function::KIND,
        props: props([
            ("name", lit(names.function)),
            ("runtime", lit("provided.al2023")),
            ("handler", lit("bootstrap")),
            ("architectures", lit(json!(["arm64"]))),
            ("memory_size", lit(ctx.settings.memory_size)),
            ("timeout", lit(ctx.settings.timeout)),
            (
                "reserved_concurrency",
                lit(ctx.settings.reserved_concurrency),
            ),
            ("tracing_mode", lit("Active")),
            ("role", output(ROLE, "arn")),
            (
                "environment",
                object([
                    ("TABLE_NAME", output(TABLE, "name")),
                    ("ENVIRONMENT_SUFFIX", lit(ctx.suffix.as_str())),
                    ("LOG_LEVEL", lit(ctx.settings.log_level.as_str())),
                ]),
            ),
            ("kms_key_arn", output(KMS_KEY, "arn")),
            ("code_sha256", lit(ctx.code_sha256.clone())),
            // Not set by the seed, so anything there is drift (docs/design.md,
            // "Security-relevant properties"): no layers, logs to the
            // default group, no resource-based policy, no function URL.
            ("layers", lit(json!([]))),
            (
                "logging_config",
                lit(json!({"log_format": "Text", "log_group": names.log_group})),
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

/// How to find a resource that is not (yet) in state: by its name, and for
/// the KMS key, which has none, through its alias.
pub fn lookup_id(ctx: &StackContext, resource: &str) -> Option<String> {
    let n = ctx.names();
    Some(match resource {
        KMS_KEY => n.alias,
        KMS_ALIAS => n.alias,
        LOG_GROUP => n.log_group,
        TABLE => n.table,
        ROLE => n.role,
        FUNCTION => n.function,
        alarms::ERROR_RATE => n.alarm_error_rate,
        alarms::DURATION => n.alarm_duration,
        alarms::THROTTLES => n.alarm_throttles,
        alarms::TABLE_ERRORS => n.alarm_table_errors,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

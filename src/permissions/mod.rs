//! The IAM policy a deployer needs for one stack (`webhook-stack
//! permissions`): every action the tool's commands call, on the exact ARNs
//! of the stack's resources, with a wildcard only where AWS offers no
//! resource-level permission for the action (README, "Permissions").

use crate::names::Suffix;
use crate::program::{StackContext, RESOURCES};
use crate::settings::Settings;
use crate::state::Backend;
use serde_json::{json, Value};

/// What the policy is for.
pub struct Scope<'a> {
    /// The stacks (one, or every stack of the backend for `--all`).
    pub suffixes: &'a [Suffix],
    pub region: &'a str,
    pub account: &'a str,
    /// The settings in use, per stack (same order as `suffixes`).
    pub settings: &'a [Settings],
    pub backend: &'a Backend,
    /// Only what plan, drift, outputs, refresh and the state commands need.
    pub read_only: bool,
    /// Also `--all`'s account-wide listings.
    pub all: bool,
}

/// The ARNs of one stack's resources, by the program's declaration.
struct Arns {
    alias: String,
    log_group: Vec<String>,
    table: String,
    role: String,
    function: String,
    alarms: Vec<String>,
    queue: Option<String>,
}

fn arns(suffix: &Suffix, region: &str, account: &str, settings: &Settings) -> Arns {
    let ctx = StackContext::new(
        suffix.clone(),
        region.into(),
        account.into(),
        String::new(),
        settings.clone(),
    );
    let arn = |service: &str, rest: String| format!("arn:aws:{service}:{region}:{account}:{rest}");
    let declared: Vec<&str> = ctx.resources().map(|r| r.key).collect();
    let log_group = ctx.name("log_group");
    Arns {
        alias: arn("kms", ctx.name("kms_alias").to_owned()),
        log_group: vec![
            arn("logs", format!("log-group:{log_group}")),
            arn("logs", format!("log-group:{log_group}:*")),
        ],
        table: arn("dynamodb", format!("table/{}", ctx.name("table"))),
        role: format!("arn:aws:iam::{account}:role/{}", ctx.name("role")),
        function: arn("lambda", format!("function:{}", ctx.name("function"))),
        alarms: RESOURCES
            .iter()
            .filter(|r| r.kind == crate::providers::alarm::KIND && declared.contains(&r.key))
            .map(|r| arn("cloudwatch", format!("alarm:{}", ctx.name(r.key))))
            .collect(),
        queue: declared
            .contains(&"dead_letter_queue")
            .then(|| arn("sqs", ctx.name("dead_letter_queue").to_owned())),
    }
}

fn statement(
    sid: &str,
    actions: &[&str],
    resources: Vec<String>,
    condition: Option<Value>,
) -> Value {
    let mut s = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": if resources.len() == 1 { json!(resources[0]) } else { json!(resources) },
    });
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    s
}

/// The policy, as IAM takes it.
pub fn policy(scope: &Scope) -> Value {
    let (region, account) = (scope.region, scope.account);
    let stacks: Vec<Arns> = scope
        .suffixes
        .iter()
        .zip(scope.settings)
        .map(|(s, settings)| arns(s, region, account, settings))
        .collect();
    let all = |f: &dyn Fn(&Arns) -> Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = stacks.iter().flat_map(f).collect();
        v.dedup();
        v
    };
    let suffixes: Vec<&str> = scope.suffixes.iter().map(|s| s.as_str()).collect();
    // A key has no name to put in an ARN before it exists: the stack's
    // keys are those carrying its tags (set at CreateKey).
    let key = format!("arn:aws:kms:{region}:{account}:key/*");
    let key_tags = json!({
        "StringEquals": {"aws:ResourceTag/ManagedBy": "webhook-stack"},
        "StringLike": {"aws:ResourceTag/Environment": suffixes},
    });

    let mut s = vec![
        // Only "*": AWS offers no resource-level permission for these.
        statement(
            "ListWithoutResourceLevelPermissions",
            &[
                "kms:ListKeys",
                "kms:ListAliases",
                "lambda:GetAccountSettings",
                "logs:DescribeLogGroups",
            ],
            vec!["*".into()],
            None,
        ),
        statement(
            "ReadKeys",
            &[
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
            ],
            vec![key.clone()],
            Some(key_tags.clone()),
        ),
        // Lambda decrypts the function's environment variables with the
        // permission of whoever reads its configuration: without it,
        // GetFunction answers an error in their place.
        statement(
            "DecryptTheFunctionsEnvironment",
            &["kms:Decrypt"],
            vec![key.clone()],
            Some({
                let mut through_lambda = key_tags.clone();
                through_lambda["StringEquals"]["kms:ViaService"] =
                    json!(format!("lambda.{region}.amazonaws.com"));
                through_lambda
            }),
        ),
        // The table is encrypted with the AWS-managed key, looked up once.
        statement(
            "DescribeTheAwsManagedDynamoDbKey",
            &["kms:DescribeKey"],
            vec![key.clone()],
            Some(
                json!({"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/aws/dynamodb"}}),
            ),
        ),
        statement(
            "ReadLogGroup",
            &["logs:ListTagsForResource"],
            all(&|a| a.log_group.clone()),
            None,
        ),
        statement(
            "ReadTable",
            &[
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:ListTagsOfResource",
            ],
            all(&|a| vec![a.table.clone()]),
            None,
        ),
        statement(
            "ReadRole",
            &[
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
            ],
            all(&|a| vec![a.role.clone()]),
            None,
        ),
        statement(
            "ReadFunction",
            &[
                "lambda:GetFunction",
                "lambda:ListTags",
                "lambda:GetFunctionConcurrency",
                "lambda:GetPolicy",
                "lambda:GetFunctionUrlConfig",
            ],
            all(&|a| vec![a.function.clone()]),
            None,
        ),
    ];
    let alarms = all(&|a| a.alarms.clone());
    if !alarms.is_empty() {
        s.push(statement(
            "ReadAlarms",
            &[
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
            ],
            alarms.clone(),
            None,
        ));
    }
    let queues = all(&|a| a.queue.iter().cloned().collect());
    if !queues.is_empty() {
        s.push(statement(
            "ReadDeadLetterQueue",
            &[
                "sqs:GetQueueUrl",
                "sqs:GetQueueAttributes",
                "sqs:ListQueueTags",
            ],
            queues.clone(),
            None,
        ));
    }
    // drift --publish-metric: its only AWS write, to its own namespace.
    s.push(statement(
        "PublishDriftMetrics",
        &["cloudwatch:PutMetricData"],
        vec!["*".into()],
        Some(json!({"StringEquals": {"cloudwatch:namespace": "WebhookStack"}})),
    ));
    if scope.all {
        // One listing of the account's roles for every stack (refused: each
        // stack's role is read on its own).
        s.push(statement(
            "SurveyRoles",
            &["iam:GetAccountAuthorizationDetails"],
            vec!["*".into()],
            None,
        ));
    }
    s.extend(backend_statements(scope));
    if !scope.read_only {
        s.extend(write_statements(
            scope, &stacks, &key, &key_tags, &alarms, &queues,
        ));
    }
    json!({"Version": "2012-10-17", "Statement": s})
}

/// The state backend: the stacks' state, lock and drift history.
fn backend_statements(scope: &Scope) -> Vec<Value> {
    let Backend::S3 { bucket, prefix } = scope.backend else {
        return vec![];
    };
    let key = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        }
    };
    let object = |name: &str| format!("arn:aws:s3:::{bucket}/{}", key(name));
    let mut state = Vec::new();
    let mut lock = Vec::new();
    let mut history = Vec::new();
    let mut listed = Vec::new();
    for s in scope.suffixes {
        state.push(object(&format!("{s}.json")));
        lock.push(object(&format!("{s}.json.lock")));
        history.push(object(&format!("history/{s}/*")));
        // Reading an object that does not exist (the first run's state,
        // a lock nobody holds) answers 404 only to a caller who may list
        // it; without that, S3 answers 403 (AccessDenied).
        listed.push(key(&format!("{s}.json")));
        listed.push(key(&format!("{s}.json.lock")));
        listed.push(key(&format!("history/{s}/")));
    }
    if scope.all {
        // --all lists the stacks under the prefix.
        listed.push(key(""));
        listed.push(key("history/"));
    }
    let mut out = vec![
        statement(
            "ListTheBackend",
            &["s3:ListBucket"],
            vec![format!("arn:aws:s3:::{bucket}")],
            Some(json!({"StringLike": {"s3:prefix": listed}})),
        ),
        statement(
            "CheckBucketVersioning",
            &["s3:GetBucketVersioning"],
            vec![format!("arn:aws:s3:::{bucket}")],
            None,
        ),
        statement(
            "ReadStateAndHistory",
            &["s3:GetObject"],
            state.iter().chain(&lock).chain(&history).cloned().collect(),
            None,
        ),
        // Locks (every command that writes state takes one; refresh and
        // config write state) and drift --record's history.
        statement(
            "WriteLockAndHistory",
            &["s3:PutObject", "s3:DeleteObject"],
            lock.iter().chain(&history).cloned().collect(),
            None,
        ),
        statement("WriteState", &["s3:PutObject"], state, None),
    ];
    out.sort_by_key(|s| s["Sid"] == "WriteState");
    out
}

/// What apply, import and destroy add, and the operating commands
/// (invoke, smoke, logs).
fn write_statements(
    scope: &Scope,
    stacks: &[Arns],
    key: &str,
    key_tags: &Value,
    alarms: &[String],
    queues: &[String],
) -> Vec<Value> {
    let all =
        |f: &dyn Fn(&Arns) -> Vec<String>| -> Vec<String> { stacks.iter().flat_map(f).collect() };
    let suffixes: Vec<&str> = scope.suffixes.iter().map(|s| s.as_str()).collect();
    let request_tags = json!({
        "StringEquals": {"aws:RequestTag/ManagedBy": "webhook-stack"},
        "StringLike": {"aws:RequestTag/Environment": suffixes},
    });
    let mut s = vec![
        // CreateKey has no resource: only "*", narrowed by the tags the
        // stack's key is created with.
        statement(
            "CreateKeyWithTheStackTags",
            &["kms:CreateKey"],
            vec!["*".into()],
            Some(request_tags.clone()),
        ),
        // CreateKey's tags are put with TagResource on the new key.
        statement(
            "TagTheNewKey",
            &["kms:TagResource"],
            vec![key.to_owned()],
            Some(request_tags),
        ),
        statement(
            "ManageKeys",
            &[
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:UpdateKeyDescription",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:ScheduleKeyDeletion",
                "kms:CancelKeyDeletion",
                "kms:EnableKey",
                // The alias's target key is checked too.
                "kms:CreateAlias",
                "kms:UpdateAlias",
                "kms:DeleteAlias",
                // Lambda encrypts the function's environment with the key
                // on the caller's behalf (a grant); it decrypts it with
                // DecryptTheFunctionsEnvironment's permission.
                "kms:CreateGrant",
                "kms:Encrypt",
            ],
            vec![key.to_owned()],
            Some(key_tags.clone()),
        ),
        statement(
            "ManageAlias",
            &["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
            all(&|a| vec![a.alias.clone()]),
            None,
        ),
        statement(
            "ManageLogGroup",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:FilterLogEvents",
            ],
            all(&|a| a.log_group.clone()),
            None,
        ),
        statement(
            "ManageTable",
            &[
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:GetItem",
            ],
            all(&|a| vec![a.table.clone()]),
            None,
        ),
        statement(
            "ManageRole",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
            ],
            all(&|a| vec![a.role.clone()]),
            None,
        ),
        // The function runs as its role: Lambda checks that the caller may
        // hand it over, to Lambda only.
        statement(
            "PassTheRoleToLambda",
            &["iam:PassRole"],
            all(&|a| vec![a.role.clone()]),
            Some(json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})),
        ),
        statement(
            "ManageFunction",
            &[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:DeleteFunctionUrlConfig",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:InvokeFunction",
            ],
            all(&|a| vec![a.function.clone()]),
            None,
        ),
    ];
    if !alarms.is_empty() {
        s.push(statement(
            "ManageAlarms",
            &[
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            alarms.to_vec(),
            None,
        ));
    }
    if !queues.is_empty() {
        s.push(statement(
            "ManageDeadLetterQueue",
            &[
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            queues.to_vec(),
            None,
        ));
    }
    s
}

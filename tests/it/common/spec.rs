//! Reads every resource of a stack back with the SDK (never trusting the
//! tool's own state) and checks each declared property.

use super::{names, sdk, ACCOUNT};
use serde_json::Value;

fn decode(doc: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap();
    serde_json::from_str(&decoded).unwrap()
}

fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid} in {doc}"))
}

fn as_set(v: &Value) -> Vec<String> {
    let mut items: Vec<String> = match v {
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        Value::String(s) => vec![s.clone()],
        other => panic!("not a string or list: {other}"),
    };
    items.sort();
    items
}

fn tags_ok(tags: &std::collections::HashMap<String, String>, s: &str) {
    assert_eq!(
        tags.get("Project").map(String::as_str),
        Some("webhook-processor")
    );
    assert_eq!(tags.get("Environment").map(String::as_str), Some(s));
    assert_eq!(
        tags.get("ManagedBy").map(String::as_str),
        Some("webhook-stack")
    );
}

/// Reads every resource back with the SDK and checks every declared property.
pub async fn check_spec(s: &str) {
    let cfg = sdk().await;
    let kms = aws_sdk_kms::Client::new(&cfg);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    let iam = aws_sdk_iam::Client::new(&cfg);
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let r = "us-east-1";
    let n = names(s);
    let log_group = &n.log_group;
    let log_arn = format!("arn:aws:logs:{r}:{ACCOUNT}:log-group:{log_group}");

    // 1. KMS key, through its alias (2).
    let key = kms
        .describe_key()
        .key_id(&n.alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let key_arn = key.arn().unwrap().to_owned();
    assert_eq!(key.key_usage().unwrap().as_str(), "ENCRYPT_DECRYPT");
    assert_eq!(key.key_spec().unwrap().as_str(), "SYMMETRIC_DEFAULT");
    assert_eq!(
        key.description().unwrap(),
        format!("webhook-processor-{s}: Lambda environment variables and CloudWatch Logs")
    );
    assert_eq!(key.key_state().unwrap().as_str(), "Enabled");
    let rotation = kms
        .get_key_rotation_status()
        .key_id(key.key_id())
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled);
    let policy = kms
        .get_key_policy()
        .key_id(key.key_id())
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 3);
    let root = statement(&policy, "EnableRootAccount");
    assert_eq!(
        as_set(&root["Principal"]["AWS"]),
        [format!("arn:aws:iam::{ACCOUNT}:root")]
    );
    assert_eq!(as_set(&root["Action"]), ["kms:*"]);
    assert_eq!(as_set(&root["Resource"]), ["*"]);
    let logs_stmt = statement(&policy, "AllowCloudWatchLogs");
    assert_eq!(
        as_set(&logs_stmt["Principal"]["Service"]),
        [format!("logs.{r}.amazonaws.com")]
    );
    assert_eq!(
        as_set(&logs_stmt["Action"]),
        [
            "kms:Decrypt*",
            "kms:Describe*",
            "kms:Encrypt*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*"
        ]
    );
    assert_eq!(
        as_set(&logs_stmt["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]),
        std::slice::from_ref(&log_arn)
    );
    let lambda_stmt = statement(&policy, "AllowLambdaService");
    assert_eq!(
        as_set(&lambda_stmt["Principal"]["Service"]),
        ["lambda.amazonaws.com"]
    );
    assert_eq!(
        as_set(&lambda_stmt["Action"]),
        ["kms:Decrypt", "kms:GenerateDataKey*"]
    );
    assert_eq!(
        as_set(&lambda_stmt["Condition"]["StringEquals"]["aws:SourceAccount"]),
        [ACCOUNT]
    );
    let key_tags: std::collections::HashMap<String, String> = kms
        .list_resource_tags()
        .key_id(key.key_id())
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect();
    tags_ok(&key_tags, s);

    // 3. Log group.
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(log_group)
        .send()
        .await
        .unwrap();
    let g = groups
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(log_group.as_str()))
        .unwrap();
    assert_eq!(g.retention_in_days(), Some(30));
    assert_eq!(g.kms_key_id(), Some(key_arn.as_str()));
    let t = logs
        .list_tags_for_resource()
        .resource_arn(&log_arn)
        .send()
        .await
        .unwrap();
    tags_ok(t.tags().unwrap(), s);

    // 4. Table.
    let table_name = &n.table;
    let table = ddb
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let table_arn = table.table_arn().unwrap().to_owned();
    assert_eq!(table.key_schema().len(), 1);
    assert_eq!(table.key_schema()[0].attribute_name(), "transactionId");
    assert_eq!(table.key_schema()[0].key_type().as_str(), "HASH");
    assert_eq!(
        table.attribute_definitions()[0].attribute_type().as_str(),
        "S"
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .unwrap()
            .billing_mode()
            .unwrap()
            .as_str(),
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        table.sse_description().unwrap().status().unwrap().as_str(),
        "ENABLED"
    );
    let pitr = ddb
        .describe_continuous_backups()
        .table_name(table_name)
        .send()
        .await
        .unwrap();
    let pitr = pitr.continuous_backups_description().unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_description()
            .unwrap()
            .point_in_time_recovery_status()
            .unwrap()
            .as_str(),
        "ENABLED"
    );
    let t: std::collections::HashMap<String, String> = ddb
        .list_tags_of_resource()
        .resource_arn(&table_arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags_ok(&t, s);

    // 5. Role: trust, exactly one inline policy, no managed policy, tags.
    let role_name = &n.role;
    let role = iam
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let trust = decode(role.assume_role_policy_document().unwrap());
    let trust_stmts = trust["Statement"].as_array().unwrap();
    assert_eq!(trust_stmts.len(), 1);
    assert_eq!(
        as_set(&trust_stmts[0]["Principal"]["Service"]),
        ["lambda.amazonaws.com"]
    );
    assert_eq!(as_set(&trust_stmts[0]["Action"]), ["sts:AssumeRole"]);
    let inline = iam
        .list_role_policies()
        .role_name(role_name)
        .send()
        .await
        .unwrap();
    assert_eq!(inline.policy_names(), std::slice::from_ref(&n.role_policy));
    let attached = iam
        .list_attached_role_policies()
        .role_name(role_name)
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    let doc = iam
        .get_role_policy()
        .role_name(role_name)
        .policy_name(&n.role_policy)
        .send()
        .await
        .unwrap();
    let doc = decode(doc.policy_document());
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 4);
    let expect = [
        (
            "WriteLogs",
            vec!["logs:CreateLogStream", "logs:PutLogEvents"],
            format!("{log_arn}:*"),
        ),
        (
            "ReadWriteTransactions",
            vec![
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ],
            table_arn.clone(),
        ),
        ("DecryptEnvironment", vec!["kms:Decrypt"], key_arn.clone()),
        (
            "XRayTracing",
            vec!["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "*".to_string(),
        ),
    ];
    for (sid, actions, resource) in expect {
        let st = statement(&doc, sid);
        assert_eq!(st["Effect"], "Allow");
        assert_eq!(as_set(&st["Action"]), actions, "{sid}");
        assert_eq!(as_set(&st["Resource"]), [resource], "{sid}");
    }
    let role_tags: std::collections::HashMap<String, String> = iam
        .list_role_tags()
        .role_name(role_name)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags_ok(&role_tags, s);

    // 6. Function.
    let f = lambda
        .get_function()
        .function_name(&n.function)
        .send()
        .await
        .unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.runtime().unwrap().as_str(), "provided.al2023");
    assert_eq!(c.handler(), Some("bootstrap"));
    assert_eq!(
        c.architectures()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["arm64"]
    );
    assert_eq!(c.memory_size(), Some(1024));
    assert_eq!(c.timeout(), Some(30));
    assert_eq!(
        c.tracing_config().unwrap().mode().unwrap().as_str(),
        "Active"
    );
    assert_eq!(c.role(), Some(role.arn()));
    assert_eq!(c.kms_key_arn(), Some(key_arn.as_str()));
    let env = c.environment().unwrap().variables().unwrap();
    assert_eq!(env.len(), 3);
    assert_eq!(&env["TABLE_NAME"], table_name);
    assert_eq!(env["ENVIRONMENT_SUFFIX"], s);
    assert_eq!(env["LOG_LEVEL"], "info");
    tags_ok(f.tags().unwrap(), s);
    let conc = lambda
        .get_function_concurrency()
        .function_name(&n.function)
        .send()
        .await
        .unwrap();
    assert_eq!(conc.reserved_concurrent_executions(), Some(100));
}

/// KMS keys tagged for stack `suffix` that are not pending deletion. Note
/// that moto's ListKeys pages at 1000.
pub async fn live_keys(suffix: &str) -> Vec<String> {
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    let mut out = vec![];
    let keys = kms.list_keys().limit(1000).send().await.unwrap();
    for k in keys.keys() {
        let id = k.key_id().unwrap();
        let meta = kms
            .describe_key()
            .key_id(id)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        if meta.key_state().unwrap().as_str() == "PendingDeletion" {
            continue;
        }
        let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
        if tags
            .tags()
            .iter()
            .any(|t| t.tag_key() == "Environment" && t.tag_value() == suffix)
        {
            out.push(id.to_owned());
        }
    }
    out
}

/// Checks that nothing of stack `s` is left: no function, role, table, log
/// group or alias, and no key that is not scheduled for deletion.
pub async fn check_gone(s: &str) {
    let cfg = sdk().await;
    let n = names(s);
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let f = lambda
        .get_function()
        .function_name(&n.function)
        .send()
        .await;
    assert!(f.is_err(), "{s}: function left");
    let iam = aws_sdk_iam::Client::new(&cfg);
    let role = iam.get_role().role_name(&n.role).send().await;
    assert!(role.is_err(), "{s}: role left");
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    let table = ddb.describe_table().table_name(&n.table).send().await;
    assert!(table.is_err(), "{s}: table left");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&n.log_group)
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "{s}: log group left");
    let kms = aws_sdk_kms::Client::new(&cfg);
    let alias = kms.describe_key().key_id(&n.alias).send().await;
    assert!(alias.is_err(), "{s}: alias left");
    assert_eq!(
        live_keys(s).await,
        Vec::<String>::new(),
        "{s}: key not scheduled for deletion"
    );
}

/// The role's inline policy document, URL-decoded.
pub async fn inline_policy(iam: &aws_sdk_iam::Client, role: &str, policy: &str) -> Value {
    let out = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .unwrap();
    decode(out.policy_document())
}

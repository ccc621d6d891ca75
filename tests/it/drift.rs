//! Drift detection against moto. One test per resource type, each on a
//! stack of its own: every change is made out of band with the SDK, then
//! `drift` must report exactly it, `apply` undo it, and `drift` report
//! IN_SYNC again. Deleted resources are reported and re-created; documents
//! that differ from the expected ones only in form are not drift, and
//! `drift` never writes.

use crate::common::spec::inline_policy;
use crate::common::{drifted, row, sdk, Names, TestStack};
use serde_json::{json, Value};

#[track_caller]
fn expect_then_repair(st: &TestStack, expected: Vec<(String, String, Vec<String>)>) {
    let (code, rows) = drifted(st);
    assert_eq!(rows, expected);
    assert_eq!(code, 2);
    st.run(&["apply", "--yes"]).ok();
    let (code, rows) = drifted(st);
    assert_eq!((code, rows), (0, vec![]), "in sync after apply");
}

/// SDK clients for the out-of-band changes.
struct Aws {
    logs: aws_sdk_cloudwatchlogs::Client,
    ddb: aws_sdk_dynamodb::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    kms: aws_sdk_kms::Client,
}

/// Stack `suffix`, applied and checked in sync, with its names and SDK
/// clients.
async fn applied(suffix: &str) -> (TestStack, Names, Aws) {
    let st = TestStack::new(suffix);
    st.run(&["apply", "--yes"]).ok();
    let (code, rows) = drifted(&st);
    assert_eq!((code, rows), (0, vec![]));
    let cfg = sdk().await;
    let aws = Aws {
        logs: aws_sdk_cloudwatchlogs::Client::new(&cfg),
        ddb: aws_sdk_dynamodb::Client::new(&cfg),
        iam: aws_sdk_iam::Client::new(&cfg),
        lambda: aws_sdk_lambda::Client::new(&cfg),
        kms: aws_sdk_kms::Client::new(&cfg),
    };
    let names = st.names();
    (st, names, aws)
}

/// KMS: rotation off, a key-policy statement added, the key disabled and
/// scheduled for deletion, the alias retargeted and deleted.
#[tokio::test(flavor = "multi_thread")]
async fn kms_key_and_alias_changes_are_reported_and_undone() {
    let (st, n, Aws { kms, .. }) = applied("driftkms").await;
    let key_id = st.state()["resources"]["kms_key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    kms.disable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row("kms_key", "MODIFIED", &["enable_key_rotation"])],
    );
    let policy = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let mut policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    policy["Statement"].as_array_mut().unwrap().push(json!({"Sid": "Backdoor", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:*", "Resource": "*"}));
    kms.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row("kms_key", "MODIFIED", &["policy.Statement.Backdoor"])],
    );
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let (code, rows) = drifted(&st);
    assert_eq!(code, 2);
    assert!(
        rows.iter()
            .any(|r| r.0 == "kms_key" && r.2.contains(&"key_state".to_string())),
        "{rows:?}"
    );
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));
    kms.schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (code, rows) = drifted(&st);
    assert_eq!(code, 2);
    assert!(
        rows.iter()
            .any(|r| r.0 == "kms_key" && r.2.contains(&"key_state".to_string())),
        "{rows:?}"
    );
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));
    let key = kms
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        key.key_state().unwrap().as_str(),
        "Enabled",
        "deletion cancelled, key enabled"
    );
    let other_key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    kms.update_alias()
        .alias_name(&n.alias)
        .target_key_id(&other_key)
        .send()
        .await
        .unwrap();
    expect_then_repair(&st, vec![row("kms_alias", "MODIFIED", &["target_key_id"])]);
    kms.delete_alias()
        .alias_name(&n.alias)
        .send()
        .await
        .unwrap();
    expect_then_repair(&st, vec![row("kms_alias", "DELETED", &[])]);
}

/// Log group: retention changed (also checked in the text report), then
/// removed.
#[tokio::test(flavor = "multi_thread")]
async fn log_group_changes_are_reported_and_undone() {
    let (st, n, Aws { logs, .. }) = applied("driftlogs").await;

    // The report's text form names expected and actual.
    logs.put_retention_policy()
        .log_group_name(&n.log_group)
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let text = st.run(&["drift"]);
    assert_eq!(text.code, 2);
    assert!(
        text.stdout.contains("log_group  MODIFIED"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("retention_in_days: expected 30, actual 7"),
        "{}",
        text.stdout
    );
    expect_then_repair(
        &st,
        vec![row("log_group", "MODIFIED", &["retention_in_days"])],
    );

    logs.delete_retention_policy()
        .log_group_name(&n.log_group)
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row("log_group", "MODIFIED", &["retention_in_days"])],
    );
}

/// Table: point-in-time recovery off; a tag changed and one added.
#[tokio::test(flavor = "multi_thread")]
async fn table_changes_are_reported_and_undone() {
    let (st, n, Aws { ddb, .. }) = applied("drifttable").await;
    let table_arn = format!("arn:aws:dynamodb:us-east-1:123456789012:table/{}", n.table);

    let pitr = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(false)
        .build()
        .unwrap();
    ddb.update_continuous_backups()
        .table_name(&n.table)
        .point_in_time_recovery_specification(pitr)
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row("table", "MODIFIED", &["point_in_time_recovery"])],
    );

    let tag = |k: &str, v: &str| {
        aws_sdk_dynamodb::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    ddb.tag_resource()
        .resource_arn(&table_arn)
        .tags(tag("Environment", "prod"))
        .tags(tag("Owner", "someone"))
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row(
            "table",
            "MODIFIED",
            &["tags.Environment", "tags.Owner"],
        )],
    );
}

/// IAM: an added statement, a second inline policy, a managed policy, a
/// wider trust policy.
#[tokio::test(flavor = "multi_thread")]
async fn role_changes_are_reported_and_undone() {
    let (st, n, Aws { iam, .. }) = applied("driftrole").await;
    let s = st.suffix.clone();
    let (role, policy_name) = (&n.role, &n.role_policy);

    let mut doc = inline_policy(&iam, role, policy_name).await;
    doc["Statement"].as_array_mut().unwrap().push(
        json!({"Sid": "Extra", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
    );
    iam.put_role_policy()
        .role_name(role)
        .policy_name(policy_name)
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row(
            "role",
            "MODIFIED",
            &[&format!("inline_policies.{policy_name}.Statement.Extra")],
        )],
    );

    let other = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(role)
        .policy_name("sneaky")
        .policy_document(other.to_string())
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row("role", "MODIFIED", &["inline_policies.sneaky"])],
    );

    let managed = iam
        .create_policy()
        .policy_name(format!("admin-{s}"))
        .policy_document(other.to_string())
        .send()
        .await
        .unwrap();
    let managed_arn = managed.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn(&managed_arn)
        .send()
        .await
        .unwrap();
    expect_then_repair(&st, vec![row("role", "MODIFIED", &["managed_policy_arns"])]);

    let wide = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"}]});
    iam.update_assume_role_policy()
        .role_name(role)
        .policy_document(wide.to_string())
        .send()
        .await
        .unwrap();
    let (_, rows) = drifted(&st);
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .2
            .iter()
            .all(|p| p.starts_with("assume_role_policy.Statement.")),
        "{rows:?}"
    );
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));
}

/// Lambda: memory, timeout and an environment variable at once; the role
/// swapped; reserved concurrency removed; code replaced.
#[tokio::test(flavor = "multi_thread")]
async fn function_changes_are_reported_and_undone() {
    let (st, n, Aws { iam, lambda, .. }) = applied("driftfn").await;
    let s = st.suffix.clone();
    let function = &n.function;

    let env = aws_sdk_lambda::types::Environment::builder()
        .variables("TABLE_NAME", &n.table)
        .variables("ENVIRONMENT_SUFFIX", &s)
        .variables("LOG_LEVEL", "debug")
        .build();
    lambda
        .update_function_configuration()
        .function_name(function)
        .memory_size(512)
        .timeout(3)
        .environment(env)
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row(
            "function",
            "MODIFIED",
            &["environment.LOG_LEVEL", "memory_size", "timeout"],
        )],
    );
    let intruder_role = iam
        .create_role()
        .role_name(format!("intruder-{s}"))
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    lambda
        .update_function_configuration()
        .function_name(function)
        .role(intruder_role.role().unwrap().arn())
        .send()
        .await
        .unwrap();
    expect_then_repair(&st, vec![row("function", "MODIFIED", &["role"])]);
    lambda
        .delete_function_concurrency()
        .function_name(function)
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![row("function", "MODIFIED", &["reserved_concurrency"])],
    );
    let other_zip = std::fs::read(crate::common::handler_zip(&st.dir, "intruder")).unwrap();
    lambda
        .update_function_code()
        .function_name(function)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(other_zip))
        .send()
        .await
        .unwrap();
    expect_then_repair(&st, vec![row("function", "MODIFIED", &["code_sha256"])]);
}

/// Deleted resources are reported and re-created by apply.
#[tokio::test(flavor = "multi_thread")]
async fn deleted_resources_are_reported_and_recreated() {
    let (
        st,
        n,
        Aws {
            logs, ddb, lambda, ..
        },
    ) = applied("driftgone").await;
    logs.delete_log_group()
        .log_group_name(&n.log_group)
        .send()
        .await
        .unwrap();
    ddb.delete_table()
        .table_name(&n.table)
        .send()
        .await
        .unwrap();
    lambda
        .delete_function()
        .function_name(&n.function)
        .send()
        .await
        .unwrap();
    expect_then_repair(
        &st,
        vec![
            row("function", "DELETED", &[]),
            row("log_group", "DELETED", &[]),
            row("table", "DELETED", &[]),
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn equivalent_documents_are_not_drift_and_drift_writes_nothing() {
    let st = TestStack::new("nodrift");
    st.run(&["apply", "--yes"]).ok();
    let cfg = sdk().await;
    let iam = aws_sdk_iam::Client::new(&cfg);
    // The same policy, reordered and with single strings for one-element lists.
    let role = st.names().role;
    let trust = json!({"Statement": {"Action": ["sts:AssumeRole"], "Principal": {"Service": "lambda.amazonaws.com"},
        "Effect": "Allow"}, "Version": "2012-10-17"});
    iam.update_assume_role_policy()
        .role_name(&role)
        .policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let policy_name = st.names().role_policy;
    let mut doc = inline_policy(&iam, &role, &policy_name).await;
    let statements = doc["Statement"].as_array_mut().unwrap();
    statements.reverse();
    for st in statements.iter_mut() {
        for key in ["Action", "Resource"] {
            let mut items = st[key]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![st[key].clone()]);
            items.reverse();
            // One-element lists become single strings, as people write them.
            st[key] = if items.len() == 1 {
                items.remove(0)
            } else {
                json!(items)
            };
        }
    }
    iam.put_role_policy()
        .role_name(&role)
        .policy_name(&policy_name)
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    let state_before = std::fs::read(st.state_path()).unwrap();
    for _ in 0..50 {
        let out = st.run(&["drift", "--json"]);
        assert_eq!(out.code, 0, "{}", out.stdout);
        let report = out.json();
        assert_eq!(
            report["summary"],
            json!({"in_sync": 6, "modified": 0, "deleted": 0})
        );
        assert_eq!(report["aws_calls"]["writes"], 0);
    }
    assert_eq!(
        std::fs::read(st.state_path()).unwrap(),
        state_before,
        "drift does not write state"
    );
}

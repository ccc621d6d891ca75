//! Faults and eventual consistency, through `scripts/aws_proxy.py` between the
//! tool and moto (the emulator itself never throttles, fails or lags).

use crate::common::proxy::Proxy;
use crate::common::spec::check_spec;
use crate::common::TestStack;

#[tokio::test(flavor = "multi_thread")]
async fn with_a_fifth_of_requests_faulted_every_command_still_succeeds() {
    let st = TestStack::new("faulty");
    let seed = "20261129";
    let proxy = Proxy::start(&[
        "--fault-rate",
        "0.2",
        "--seed",
        seed,
        "--faults",
        "throttle,500,503,drop",
    ]);
    st.run_via(&proxy, &["apply", "--yes"]).ok();
    check_spec(&st.suffix).await;
    let plan = st.run_via(&proxy, &["plan", "--detailed-exitcode"]).ok();
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    st.run_via(&proxy, &["drift"]).ok();
    st.run_via(&proxy, &["destroy", "--yes"]).ok();
    assert_eq!(st.state()["resources"], serde_json::json!({}));
    let stats = proxy.stats();
    eprintln!(
        "seed {seed}: {} requests, {} faulted {}",
        stats["requests"], stats["faults_total"], stats["faults"]
    );
    assert!(stats["faults_total"].as_u64().unwrap() >= 10, "{stats}");
}

/// The catalogue of propagation errors (src/providers/aws/retry.rs), each
/// answered twice in a row by the proxy where real AWS would answer it:
/// every command still succeeds, and each rule fired exactly twice.
/// (op, AWS error code, message), in the order each op meets them.
const CREATE: &[(&str, &str, &str)] = &[
    ("KMS.CreateKey", "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."),
    ("KMS.EnableKeyRotation", "NotFoundException", "Key 'arn:aws:kms:us-east-1:123456789012:key/x' does not exist"),
    ("KMS.CreateAlias", "NotFoundException", "Key 'x' does not exist"),
    ("Logs.CreateLogGroup", "AccessDeniedException", "The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:us-east-1:123456789012:log-group:x'"),
    ("Logs.CreateLogGroup", "OperationAbortedException", "A conflicting operation is currently in progress against this resource. Please try again."),
    ("Logs.PutRetentionPolicy", "OperationAbortedException", "A conflicting operation is currently in progress against this resource. Please try again."),
    ("DynamoDB.UpdateContinuousBackups", "ContinuousBackupsUnavailableException", "Backups are being enabled for the table"),
    ("DynamoDB.UpdateContinuousBackups", "ResourceInUseException", "Attempt to change a resource which is still in use: Table is being created"),
    ("IAM.CreateRole", "ConcurrentModification", "Rate exceeded for concurrent modification"),
    ("IAM.CreateRole", "MalformedPolicyDocument", "Invalid principal in policy: \"SERVICE\":\"lambda.amazonaws.com\""),
    ("IAM.PutRolePolicy", "NoSuchEntity", "The role with name webhook-processor-role-x cannot be found."),
    ("IAM.PutRolePolicy", "ConcurrentModification", "Rate exceeded for concurrent modification"),
    ("Lambda.CreateFunction", "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."),
    ("Lambda.CreateFunction", "InvalidParameterValueException", "The provided execution role does not have permissions to call PutTraceSegments on XRAY"),
    ("Lambda.CreateFunction", "InvalidParameterValueException", "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: InvalidArnException KMS Message: ARN does not refer to a valid principal"),
    ("Lambda.PutFunctionConcurrency", "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource"),
];
const UPDATE: &[(&str, &str, &str)] = &[
    ("KMS.PutKeyPolicy", "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."),
    ("KMS.PutKeyPolicy", "NotFoundException", "Key 'x' does not exist"),
    ("Lambda.UpdateFunctionConfiguration", "InvalidParameterValueException", "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings."),
    ("Lambda.UpdateFunctionConfiguration", "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."),
    ("Lambda.UpdateFunctionConfiguration", "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource"),
    ("DynamoDB.UpdateTable", "ResourceInUseException", "Attempt to change a resource which is still in use: Table is being updated"),
];
const DESTROY: &[(&str, &str, &str)] = &[(
    "IAM.DeleteRole",
    "DeleteConflict",
    "Cannot delete entity, must delete policies first.",
)];

/// A proxy answering each (op, code, message) twice in a row.
fn twice_each(rules: &[(&str, &str, &str)]) -> Proxy {
    let specs: Vec<String> = rules
        .iter()
        .map(|(op, code, message)| format!("{op}:2:{code}:{message}"))
        .collect();
    let args: Vec<&str> = specs.iter().flat_map(|s| ["--rule", s.as_str()]).collect();
    Proxy::start(&args)
}

/// Each op's rules fired twice per entry, and none is left.
#[track_caller]
fn all_fired(proxy: &Proxy, rules: &[(&str, &str, &str)]) {
    let stats = proxy.stats();
    for (op, _, _) in rules {
        let entries = rules.iter().filter(|r| r.0 == *op).count() as u64;
        assert_eq!(stats["rules_fired"][op], 2 * entries, "{op}: {stats}");
        assert_eq!(stats["rules_remaining"][op], 0, "{op}: {stats}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_catalogued_propagation_error_is_waited_out_twice_in_a_row() {
    let st = TestStack::new("eventual");
    let proxy = twice_each(CREATE);
    st.run_via(&proxy, &["apply", "--yes"]).ok();
    all_fired(&proxy, CREATE);
    check_spec(&st.suffix).await;

    // Updates: a key policy changed out of band, a new memory size and the
    // table's billing mode.
    let kms = aws_sdk_kms::Client::new(&crate::common::sdk().await);
    let key_id = st.state()["resources"]["kms_key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "EnableRootAccount",
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*", "Resource": "*"}]});
    kms.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(doc.to_string())
        .send()
        .await
        .unwrap();
    let proxy = twice_each(UPDATE);
    // The table switched to provisioned capacity: an UpdateTable is planned.
    let ddb = aws_sdk_dynamodb::Client::new(&crate::common::sdk().await);
    ddb.update_table()
        .table_name(st.names().table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned)
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    st.run_via(&proxy, &["apply", "--yes", "--memory-size", "2048"])
        .ok();
    all_fired(&proxy, UPDATE);
    st.run_via(
        &proxy,
        &["plan", "--detailed-exitcode", "--memory-size", "2048"],
    )
    .ok();

    let proxy = twice_each(DESTROY);
    st.run_via(&proxy, &["destroy", "--yes"]).ok();
    all_fired(&proxy, DESTROY);
    crate::common::spec::check_gone(&st.suffix).await;
}

#[test]
fn any_other_error_fails_fast_with_its_code() {
    let st = TestStack::new("failfast");
    let proxy = Proxy::start(&[
        "--rule",
        "DynamoDB.CreateTable:5:ValidationException:One or more parameter values were invalid",
    ]);
    let out = st.run_via(&proxy, &["apply", "--yes"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("table: failed after")
            && out.stderr.contains("CreateTable failed: ValidationException: One or more parameter values were invalid"),
        "{}",
        out.stderr
    );
    let stats = proxy.stats();
    assert_eq!(
        stats["per_operation"]["DynamoDB.CreateTable"], 1,
        "not retried: {stats}"
    );
    // The rest of the stack that does not need the table exists and is recorded.
    let state = st.state();
    for r in ["kms_key", "kms_alias", "log_group"] {
        assert!(state["resources"].get(r).is_some(), "{r} recorded: {state}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_removes_policies_added_out_of_band_even_when_iam_reports_a_conflict() {
    let st = TestStack::new("conflict");
    let s = st.suffix.clone();
    st.run(&["apply", "--yes"]).ok();
    let iam = aws_sdk_iam::Client::new(&crate::common::sdk().await);
    let doc = serde_json::json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(st.names().role)
        .policy_name("added-by-hand")
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    // As if another policy were attached between the plan's read and the
    // deletion: IAM answers DeleteConflict once; the role is read again.
    let proxy = Proxy::start(&[
        "--rule",
        "IAM.DeleteRole:1:DeleteConflict:Cannot delete entity, must delete policies first.",
    ]);
    st.run_via(&proxy, &["destroy", "--yes"]).ok();
    assert_eq!(proxy.stats()["rules_fired"]["IAM.DeleteRole"], 1);
    crate::common::spec::check_gone(&s).await;
}

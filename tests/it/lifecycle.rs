//! The whole life of a stack against a real moto server, driven through the
//! real binary, with every declared property read back through the SDK.

use crate::common::spec::{check_gone, check_spec};
use crate::common::{sdk, writes, TestStack, ACCOUNT};
use serde_json::{json, Value};

/// Applies with one setting's flag, checks the writes were exactly
/// `expected`, that the apply saved the setting (a plan without the flag is
/// empty), and reverts with `config unset`.
fn update_case(st: &TestStack, flags: &[&str], expected: &[&str]) {
    let mut args = vec!["apply", "--yes", "--json"];
    args.extend_from_slice(flags);
    let report = st.run(&args).ok().json();
    assert_eq!(writes(&report), expected, "writes for {flags:?}");
    st.run(&["plan", "--detailed-exitcode"]).ok();
    let key = flags[0].trim_start_matches("--").replace('-', "_");
    assert_eq!(
        st.run(&["config", "get", &key]).ok().stdout.trim(),
        flags[1]
    );
    st.run(&["config", "unset", &key]).ok();
    let revert = st.run(&["apply", "--yes", "--json"]).ok().json();
    assert_eq!(writes(&revert), expected, "writes reverting {flags:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_plan_update_and_destroy_the_spec_stack() {
    let st = TestStack::new("life");
    let s = st.suffix.clone();

    let plan = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("Plan: 6 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("(known after apply)"));

    // Progress (starts and completions) shows on a terminal, or with -v.
    let applied = st.run(&["apply", "--yes", "-v"]).ok();
    for r in [
        "kms_key",
        "kms_alias",
        "log_group",
        "table",
        "role",
        "function",
    ] {
        assert!(
            applied.stderr.contains(&format!("{r}: created after")),
            "{}",
            applied.stderr
        );
    }
    check_spec(&s).await;

    // Converged: no change, and no write on apply.
    let plan = st
        .run(&["plan", "--detailed-exitcode", "--json"])
        .ok()
        .json();
    assert_eq!(
        plan["summary"],
        json!({"add": 0, "change": 0, "replace": 0, "destroy": 0, "import": 0})
    );
    let reads = plan["aws_calls"]["reads"].as_u64().unwrap();
    assert!(reads <= 20, "a converged plan took {reads} reads");
    let noop = st.run(&["apply", "--yes", "--json"]).ok().json();
    assert_eq!(noop["aws_calls"]["writes"], 0, "{noop}");

    // The state file's format.
    let state = st.state();
    assert_eq!(state["version"], 1);
    assert_eq!(state["suffix"], s.as_str());
    assert_eq!(state["account"], ACCOUNT);
    assert_eq!(state["resources"].as_object().unwrap().len(), 6);
    assert!(state["serial"].as_u64().unwrap() >= 6);
    assert_eq!(
        state["resources"]["function"]["dependencies"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(st.state_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let n = st.names();
    let outputs = st.run(&["outputs", "--json"]).ok().json();
    assert_eq!(outputs.as_object().unwrap().len(), 10);
    assert_eq!(outputs["LambdaFunctionName"], n.function.as_str());
    assert_eq!(outputs["DynamoDBTableName"], n.table.as_str());
    assert_eq!(outputs["KMSKeyAlias"], n.alias.as_str());
    assert_eq!(outputs["LogGroupName"], n.log_group.as_str());
    assert_eq!(outputs["IAMRoleName"], n.role.as_str());
    assert_eq!(
        outputs["IAMRoleArn"],
        format!("arn:aws:iam::{ACCOUNT}:role/{}", n.role)
    );

    // Each kind of change: the right API and nothing else.
    update_case(
        &st,
        &["--memory-size", "2048"],
        &["Lambda:UpdateFunctionConfiguration=1"],
    );
    update_case(
        &st,
        &["--timeout", "60"],
        &["Lambda:UpdateFunctionConfiguration=1"],
    );
    update_case(
        &st,
        &["--log-level", "debug"],
        &["Lambda:UpdateFunctionConfiguration=1"],
    );
    update_case(
        &st,
        &["--reserved-concurrency", "50"],
        &["Lambda:PutFunctionConcurrency=1"],
    );
    update_case(
        &st,
        &["--log-retention-days", "90"],
        &["CloudWatch Logs:PutRetentionPolicy=1"],
    );
    let tagged = st
        .run(&["apply", "--yes", "--json", "--tag", "team=payments"])
        .ok()
        .json();
    assert_eq!(
        writes(&tagged),
        [
            "CloudWatch Logs:TagResource=1",
            "DynamoDB:TagResource=1",
            "IAM:TagRole=1",
            "KMS:TagResource=1",
            "Lambda:TagResource=1"
        ]
    );
    st.run(&["config", "unset", "tags.team"]).ok();
    let untagged = st.run(&["apply", "--yes", "--json"]).ok().json();
    assert_eq!(
        writes(&untagged),
        [
            "CloudWatch Logs:UntagResource=1",
            "DynamoDB:UntagResource=1",
            "IAM:UntagRole=1",
            "KMS:UntagResource=1",
            "Lambda:UntagResource=1"
        ]
    );

    // New code: only the code is updated; the same zip again changes nothing.
    let zip2 = crate::common::handler_zip(&st.dir, "v2");
    let mut cmd = st.command(&["apply", "--yes", "--json"]);
    cmd.env("WEBHOOK_STACK_HANDLER_ZIP", &zip2);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(writes(&report), ["Lambda:UpdateFunctionCode=1"]);
    let mut cmd = st.command(&["plan", "--detailed-exitcode"]);
    cmd.env("WEBHOOK_STACK_HANDLER_ZIP", &zip2);
    assert!(cmd.status().unwrap().success());
    st.run(&["apply", "--yes"]).ok();

    // A policy statement changed (out of band here): PutRolePolicy only.
    let cfg = sdk().await;
    let iam = aws_sdk_iam::Client::new(&cfg);
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "XRayTracing", "Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(&n.role)
        .policy_name(&n.role_policy)
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    let plan = st.run(&["plan"]).ok();
    assert!(
        plan.stdout.contains("role (aws:iam/role)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Statement[Sid=WriteLogs]"),
        "{}",
        plan.stdout
    );
    assert!(plan
        .stdout
        .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."));
    let fixed = st.run(&["apply", "--yes", "--json"]).ok().json();
    assert_eq!(writes(&fixed), ["IAM:PutRolePolicy=1"]);
    check_spec(&s).await;

    // Destroy: everything goes, dependents first; a second destroy is a no-op.
    let destroyed = st.run(&["destroy", "--yes", "-v"]).ok();
    let order: Vec<&str> = destroyed
        .stderr
        .lines()
        .filter_map(|l| {
            l.strip_suffix("...")
                .and_then(|l| l.strip_suffix(": destroying"))
        })
        .collect();
    let pos = |r: &str| {
        order
            .iter()
            .position(|x| *x == r)
            .unwrap_or_else(|| panic!("{r} not destroyed: {order:?}"))
    };
    assert!(pos("function") < pos("role"));
    assert!(
        pos("role") < pos("table")
            && pos("role") < pos("log_group")
            && pos("role") < pos("kms_key")
    );
    assert!(pos("kms_alias") < pos("kms_key") && pos("log_group") < pos("kms_key"));
    assert_eq!(st.state()["resources"], json!({}));
    check_gone(&s).await;
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    let key_id = state["resources"]["kms_key"]["id"].as_str().unwrap();
    let key = kms
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(key.key_state().unwrap().as_str(), "PendingDeletion");

    let again = st.run(&["destroy", "--yes"]).ok();
    assert!(again.stdout.contains("0 to destroy"), "{}", again.stdout);
}

//! Faults and eventual consistency, through `scripts/aws_proxy.py` between the
//! tool and moto (the emulator itself never throttles, fails or lags).

mod common;

use common::proxy::Proxy;
use common::spec::check_spec;
use common::TestStack;

/// Runs `args` with AWS reached through `proxy`.
fn via(st: &TestStack, proxy: &Proxy, args: &[&str]) -> common::Output {
    let out = st
        .command(args)
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .output()
        .unwrap();
    common::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

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
    via(&st, &proxy, &["apply", "--yes"]).ok();
    check_spec(&st.suffix).await;
    let plan = via(&st, &proxy, &["plan", "--detailed-exitcode"]).ok();
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    via(&st, &proxy, &["drift"]).ok();
    via(&st, &proxy, &["destroy", "--yes"]).ok();
    assert_eq!(st.state()["resources"], serde_json::json!({}));
    let stats = proxy.stats();
    eprintln!(
        "seed {seed}: {} requests, {} faulted {}",
        stats["requests"], stats["faults_total"], stats["faults"]
    );
    assert!(stats["faults_total"].as_u64().unwrap() >= 10, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn known_eventual_consistency_errors_are_waited_out() {
    let st = TestStack::new("eventual");
    let proxy = Proxy::start(&[
        "--rule",
        "Lambda.CreateFunction:3:InvalidParameterValueException:The role defined for the function cannot be assumed by Lambda.",
        "--rule",
        "DynamoDB.UpdateContinuousBackups:3:ContinuousBackupsUnavailableException:Backups are being enabled for the table",
        "--rule",
        "KMS.CreateKey:2:MalformedPolicyDocumentException:The new key policy will not allow you to update the key policy in the future.",
        "--rule",
        "Logs.PutRetentionPolicy:2:OperationAbortedException:Multiple concurrent operations",
    ]);
    via(&st, &proxy, &["apply", "--yes"]).ok();
    let stats = proxy.stats();
    assert_eq!(
        stats["rules_fired"],
        serde_json::json!({
            "Lambda.CreateFunction": 3,
            "DynamoDB.UpdateContinuousBackups": 3,
            "KMS.CreateKey": 2,
            "Logs.PutRetentionPolicy": 2
        }),
        "{stats}"
    );
    check_spec(&st.suffix).await;

    // While an update is in progress Lambda answers ResourceConflictException.
    let busy = Proxy::start(&[
        "--rule",
        "Lambda.UpdateFunctionConfiguration:2:ResourceConflictException:The operation cannot be performed at this time. An update is in progress for resource",
    ]);
    via(&st, &busy, &["apply", "--yes", "--memory-size", "2048"]).ok();
    assert_eq!(
        busy.stats()["rules_fired"]["Lambda.UpdateFunctionConfiguration"],
        2
    );
}

#[test]
fn any_other_error_fails_fast_with_its_code() {
    let st = TestStack::new("failfast");
    let proxy = Proxy::start(&[
        "--rule",
        "DynamoDB.CreateTable:5:ValidationException:One or more parameter values were invalid",
    ]);
    let out = via(&st, &proxy, &["apply", "--yes"]);
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
    let iam = aws_sdk_iam::Client::new(&common::sdk().await);
    let doc = serde_json::json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(format!("webhook-processor-role-{s}"))
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
    via(&st, &proxy, &["destroy", "--yes"]).ok();
    assert_eq!(proxy.stats()["rules_fired"]["IAM.DeleteRole"], 1);
    common::spec::check_gone(&s).await;
}

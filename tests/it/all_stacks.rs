//! `plan --all` and `drift --all` over several stacks in one state directory.

use crate::common::proxy::Proxy;
use crate::common::{sdk, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn drift_and_plan_all_cover_every_stack_in_the_state_dir() {
    let a = TestStack::new("alla");
    // A second stack sharing the first one's state directory.
    let b = a.beside("allb");
    a.run(&["apply", "--yes"]).ok();
    b.run(&["apply", "--yes"]).ok();
    let out = a.run(&["drift", "--all", "--json"]).ok();
    let report = out.json();
    let suffixes: Vec<&str> = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suffix"].as_str().unwrap())
        .collect();
    assert_eq!(suffixes, ["alla", "allb"]);
    assert_eq!(report["drifted"], false);
    a.run(&["plan", "--all", "--detailed-exitcode"]).ok();

    let cfg = sdk().await;
    aws_sdk_cloudwatchlogs::Client::new(&cfg)
        .put_retention_policy()
        .log_group_name(b.names().log_group)
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let out = a.run(&["drift", "--all"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("== stack allb"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("2 stack(s): 1 drifted, 0 could not be checked."),
        "{}",
        out.stdout
    );
    let plan = a.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stdout);
}

/// Under a service's rate limit (the proxy answers IAM above 3 calls/s with
/// `Throttling`, as IAM does with bursts), every stack is still checked, and
/// each throttled attempt is counted, in `--json` and by `-v`.
#[test]
fn under_a_rate_limit_every_stack_is_checked_and_throttling_is_counted() {
    let stacks: Vec<TestStack> = (1..=4)
        .map(|i| TestStack::new(&format!("paced{i}")))
        .collect();
    let shared = |i: usize| stacks[0].beside(&stacks[i].suffix);
    for i in 0..stacks.len() {
        shared(i).run(&["apply", "--yes"]).ok();
    }
    // Without the account's role listing (refused), so that each stack
    // makes its own four IAM reads, as a single-stack run does.
    let proxy = Proxy::start(&[
        "--rate-limit",
        "IAM=3",
        "--rule",
        "IAM.GetAccountAuthorizationDetails:1:AccessDenied:not authorized",
    ]);
    let out = shared(0).run_via(&proxy, &["drift", "--all", "--json", "-v"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["stacks"].as_array().unwrap().len(), 4);
    let limited = proxy.stats()["rate_limited"]["IAM"].as_u64().unwrap_or(0);
    assert!(limited > 0, "16 IAM reads at once meet a limit of 3/s");
    assert_eq!(
        report["aws_calls"]["throttled"], limited,
        "{}",
        report["aws_calls"]
    );
    assert_eq!(report["aws_calls"]["throttled_by_service"]["IAM"], limited);
    assert!(
        out.stderr.contains(&format!("throttled by IAM: {limited}")),
        "{}",
        out.stderr
    );
}

/// Per stack, the resources that are not in sync: (suffix, resource, status).
fn not_in_sync(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for stack in report["stacks"].as_array().unwrap() {
        assert!(stack.get("error").is_none(), "{stack}");
        for r in stack["resources"].as_array().unwrap() {
            if r["status"] != "IN_SYNC" {
                rows.push((
                    stack["suffix"].as_str().unwrap().to_owned(),
                    r["resource"].as_str().unwrap().to_owned(),
                    r["status"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    rows
}

/// The IAM operations a report counts, with their counts.
fn iam_calls(report: &serde_json::Value) -> Vec<(&str, u64)> {
    report["aws_calls"]["by_operation"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| op.starts_with("IAM:"))
        .map(|(op, n)| (op.as_str(), n.as_u64().unwrap()))
        .collect()
}

fn drifted_properties<'a>(
    report: &'a serde_json::Value,
    suffix: &str,
    resource: &str,
) -> Vec<&'a str> {
    let stack = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["suffix"] == suffix)
        .unwrap();
    let r = stack["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == resource)
        .unwrap();
    r["drifted_properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect()
}

fn calls(report: &serde_json::Value, op: &str) -> u64 {
    report["aws_calls"]["by_operation"][op]
        .as_u64()
        .unwrap_or(0)
}

/// `drift --all` lists KMS aliases, log groups and IAM roles once for all
/// its stacks (providers/aws/survey.rs) instead of asking once per stack, and
/// finds what was deleted or changed all the same; when a listing is
/// refused (a role without `kms:ListAliases` or
/// `iam:GetAccountAuthorizationDetails`), each stack asks for its own, with
/// the same result.
#[tokio::test(flavor = "multi_thread")]
async fn one_listing_serves_every_stack_and_a_refused_listing_falls_back_to_single_reads() {
    let first = TestStack::new("surv1");
    let all = [
        first.beside("surv1"),
        first.beside("surv2"),
        first.beside("surv3"),
    ];
    for s in &all {
        s.run(&["apply", "--yes"]).ok();
    }
    let cfg = sdk().await;
    aws_sdk_kms::Client::new(&cfg)
        .delete_alias()
        .alias_name(all[1].names().alias)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&cfg)
        .delete_log_group()
        .log_group_name(all[2].names().log_group)
        .send()
        .await
        .unwrap();
    // A statement added out of band to one stack's inline policy.
    let iam = aws_sdk_iam::Client::new(&cfg);
    let extra = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(all[0].names().role)
        .policy_name("added-by-hand")
        .policy_document(extra.to_string())
        .send()
        .await
        .unwrap();
    let expected = vec![
        ("surv1".to_owned(), "role".to_owned(), "MODIFIED".to_owned()),
        (
            "surv2".to_owned(),
            "kms_alias".to_owned(),
            "DELETED".to_owned(),
        ),
        (
            "surv3".to_owned(),
            "log_group".to_owned(),
            "DELETED".to_owned(),
        ),
    ];

    let out = first.run(&["drift", "--all", "--json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = out.json();
    assert_eq!(not_in_sync(&report), expected);
    assert_eq!(calls(&report, "KMS:ListAliases"), 1);
    assert_eq!(calls(&report, "CloudWatch Logs:DescribeLogGroups"), 1);
    // Each stack's key, and the AWS-managed DynamoDB key once per run; no
    // DescribeKey per alias.
    assert_eq!(calls(&report, "KMS:DescribeKey"), 3 + 1);
    // Every IAM read of the three stacks from one listing.
    assert_eq!(
        iam_calls(&report),
        [("IAM:GetAccountAuthorizationDetails", 1)]
    );
    assert_eq!(
        drifted_properties(&report, "surv1", "role"),
        ["inline_policies.added-by-hand"]
    );
    // One stack alone still reads its own (one call either way).
    let single = all[0].run(&["drift", "--json"]);
    assert_eq!(single.code, 2, "the role added to: {}", single.stderr);
    let single = single.json();
    assert_eq!(calls(&single, "KMS:ListAliases"), 0);
    assert_eq!(calls(&single, "KMS:DescribeKey"), 3);
    assert_eq!(calls(&single, "IAM:GetAccountAuthorizationDetails"), 0);
    assert_eq!(calls(&single, "IAM:GetRole"), 1);

    let proxy = Proxy::start(&[
        "--rule",
        "KMS.ListAliases:1:AccessDeniedException:not authorized to perform kms:ListAliases",
        "--rule",
        "IAM.GetAccountAuthorizationDetails:1:AccessDenied:not authorized to perform iam:GetAccountAuthorizationDetails",
    ]);
    let out = first.run_via(&proxy, &["drift", "--all", "--json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = out.json();
    assert_eq!(proxy.stats()["rules_fired"]["KMS.ListAliases"], 1);
    assert_eq!(
        proxy.stats()["rules_fired"]["IAM.GetAccountAuthorizationDetails"],
        1
    );
    assert_eq!(not_in_sync(&report), expected);
    assert_eq!(
        drifted_properties(&report, "surv1", "role"),
        ["inline_policies.added-by-hand"]
    );
    assert_eq!(calls(&report, "KMS:DescribeKey"), 3 + 3 + 1);
    // Each stack's role, trust policy, policy listings and its own inline
    // policy (the one added by hand: one GetRolePolicy more).
    assert_eq!(calls(&report, "IAM:GetRole"), 3);
    assert_eq!(calls(&report, "IAM:ListRolePolicies"), 3);
    assert_eq!(calls(&report, "IAM:ListAttachedRolePolicies"), 3);
    assert_eq!(calls(&report, "IAM:GetRolePolicy"), 3 + 1);
    let plan = first.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stdout);
    assert!(plan.stdout.contains("== stack surv2"), "{}", plan.stdout);
}

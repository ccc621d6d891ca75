//! `plan --all` and `drift --all` over several stacks in one state directory.

mod common;

use common::proxy::Proxy;
use common::{sdk, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn drift_and_plan_all_cover_every_stack_in_the_state_dir() {
    let a = TestStack::new("alla");
    // A second stack sharing the first one's state directory.
    let b = TestStack {
        suffix: "allb".into(),
        dir: a.dir.clone(),
        zip: a.zip.clone(),
        backend: None,
    };
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
    let shared = |i: usize| TestStack {
        suffix: stacks[i].suffix.clone(),
        dir: stacks[0].dir.clone(),
        zip: stacks[0].zip.clone(),
        backend: None,
    };
    for i in 0..stacks.len() {
        shared(i).run(&["apply", "--yes"]).ok();
    }
    let proxy = Proxy::start(&["--rate-limit", "IAM=3"]);
    let out: common::Output = shared(0)
        .command(&["drift", "--all", "--json", "-v"])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .output()
        .unwrap()
        .into();
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

//! `plan --all` and `drift --all` over several stacks in one state directory.

mod common;

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

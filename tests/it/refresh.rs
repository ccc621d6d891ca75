//! `refresh`: accepting drift. What is live is recorded into state with no
//! AWS write, so `drift` is clean; the next plan still reverts what the
//! program declares otherwise, unless `--settings` saved the value as the
//! stack setting that carries it.

use crate::common::{drifted, row, sdk, writes, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn refresh_records_live_values_and_settings_make_the_plan_converge() {
    let st = TestStack::new("refresh");
    let n = st.names();
    st.run(&["apply", "--yes"]).ok();
    let cfg = sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
    // An incident: memory raised and retention cut in the console.
    lambda
        .update_function_configuration()
        .function_name(&n.function)
        .memory_size(2048)
        .send()
        .await
        .unwrap();
    logs.put_retention_policy()
        .log_group_name(&n.log_group)
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(drifted(&st).0, 2);

    // Nothing asked: refused off a terminal, nothing recorded.
    let out = st.run(&["refresh"]);
    assert_eq!(out.code, 1);
    assert_eq!(drifted(&st).0, 2);

    // The log group alone: recorded, no AWS write, reverted by the plan.
    let report = st
        .run(&["refresh", "log_group", "--yes", "--json"])
        .ok()
        .json();
    assert_eq!(report["recorded"], true);
    assert_eq!(writes(&report), Vec::<String>::new());
    assert_eq!(
        report["resources"][0]["changes"][0]["path"],
        "retention_in_days"
    );
    assert!(report["resources"][0]["changes"][0]["setting"].is_null());
    assert_eq!(
        drifted(&st),
        (2, vec![row("function", "MODIFIED", &["memory_size"])])
    );

    // The rest with --settings: memory_size is saved as the setting.
    let out = st.run(&["refresh", "--settings", "--yes"]).ok();
    assert!(
        out.stdout
            .contains("memory_size: 1024 -> 2048; saved as setting memory_size"),
        "{}",
        out.stdout
    );
    assert_eq!(drifted(&st), (0, vec![]));
    assert_eq!(
        st.run(&["config", "get", "memory_size"]).ok().stdout.trim(),
        "2048"
    );
    // The plan keeps the memory (a setting now) and reverts the retention
    // (the program's 30 days).
    let plan = st.run(&["plan", "--json"]).ok().json();
    let changes: Vec<(&str, &str)> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |c| (s["resource"].as_str().unwrap(), c["path"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(changes, [("log_group", "retention_in_days")]);

    // Nothing left to record; an unknown resource is refused.
    let again = st.run(&["refresh", "--yes"]).ok();
    assert!(
        again.stdout.contains("No drift to record"),
        "{}",
        again.stdout
    );
    let bad = st.run(&["refresh", "nonsense", "--yes"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("nonsense is not in the state"),
        "{}",
        bad.stderr
    );
    st.run(&["destroy", "--yes"]).ok();
}

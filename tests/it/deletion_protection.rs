//! The table's deletion protection (setting `deletion_protection`), against
//! moto, which stores it and refuses DeleteTable while it is on: apply sets
//! it, drift reports it, and destroy refuses before deleting anything,
//! saying how to lift it; once lifted, destroy goes through.

use crate::common::{drifted, row, sdk, TestStack};

async fn protected(ddb: &aws_sdk_dynamodb::Client, table: &str) -> bool {
    ddb.describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .deletion_protection_enabled()
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn deletion_protection_is_set_drift_checked_and_stops_destroy_before_anything() {
    let st = TestStack::new("protect");
    let n = st.names();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);

    st.run(&["apply", "--yes"]).ok();
    assert!(!protected(&ddb, &n.table).await, "off by default");
    st.run(&["apply", "--yes", "--deletion-protection"]).ok();
    assert!(protected(&ddb, &n.table).await);
    assert_eq!(drifted(&st), (0, vec![]));

    // Turned off out of band: drift, and apply turns it on again.
    ddb.update_table()
        .table_name(&n.table)
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    assert_eq!(
        drifted(&st),
        (2, vec![row("table", "MODIFIED", &["deletion_protection"])])
    );
    st.run(&["apply", "--yes"]).ok();
    assert!(protected(&ddb, &n.table).await);

    // destroy refuses before deleting anything, and says how to lift it.
    let before = std::fs::read(st.state_path()).unwrap();
    let out = st.run(&["destroy", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "destroy would delete table {}, but its deletion_protection is on",
            n.table
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("webhook-stack config set deletion_protection false"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(st.state_path()).unwrap(), before);
    let lambda = aws_sdk_lambda::Client::new(&sdk().await);
    lambda
        .get_function()
        .function_name(&n.function)
        .send()
        .await
        .expect("nothing was deleted");

    // `--replace table` is refused the same way.
    let out = st.run(&["apply", "--yes", "--replace", "table"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("deletion_protection is on"),
        "{}",
        out.stderr
    );

    // Lifted as the message says, destroy goes through.
    st.run(&["config", "set", "deletion_protection", "false"])
        .ok();
    st.run(&["apply", "--yes"]).ok();
    assert!(!protected(&ddb, &n.table).await);
    st.run(&["destroy", "--yes"]).ok();
    assert!(ddb
        .describe_table()
        .table_name(&n.table)
        .send()
        .await
        .is_err());
}

/// `reserved_concurrency`: `none` removes the reservation, 0 is planned with
/// a warning that the function will process nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_of_none_removes_it_and_zero_warns() {
    let st = TestStack::new("reserve");
    let n = st.names();
    let lambda = aws_sdk_lambda::Client::new(&sdk().await);
    let reserved = || async {
        lambda
            .get_function_concurrency()
            .function_name(&n.function)
            .send()
            .await
            .unwrap()
            .reserved_concurrent_executions()
    };
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(reserved().await, Some(100));

    let plan = st.run(&["plan", "--reserved-concurrency", "0"]).ok();
    assert!(
        plan.stdout
            .contains("reserved_concurrency 0 stops every invocation"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("set reserved_concurrency to none"));

    let plan = st.run(&["plan", "--reserved-concurrency", "none"]).ok();
    assert!(!plan.stdout.contains("stops every invocation"));
    st.run(&["apply", "--yes", "--reserved-concurrency", "none"])
        .ok();
    assert_eq!(reserved().await, None);
    assert_eq!(
        st.run(&["config", "get", "reserved_concurrency"])
            .ok()
            .stdout
            .trim(),
        "none"
    );
    let plan = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert_eq!(drifted(&st), (0, vec![]));

    let bad = st.run(&["plan", "--reserved-concurrency", "lots"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("must be a whole number or none"),
        "{}",
        bad.stderr
    );
    st.run(&["destroy", "--yes"]).ok();
}

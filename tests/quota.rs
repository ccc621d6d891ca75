//! Account limits (SPEC §1 reserves 100 concurrent executions): a moto of
//! this test's own enforces a Lambda concurrency quota of 150, so reserving
//! 100 would leave 50 unreserved, below AWS's minimum of 100. moto has no
//! GetAccountSettings, so plan's warning itself is tested with
//! aws-smithy-mocks (src/providers/mocked.rs); here, the apply error.

mod common;

use common::{start_moto, TestStack};

#[test]
fn a_reservation_the_account_cannot_spare_is_explained_and_a_smaller_one_applies() {
    let moto = start_moto(&[("MOTO_LAMBDA_CONCURRENCY_QUOTA", "150")]);
    let st = TestStack::new("quota");
    let run = |args: &[&str]| {
        let out = st
            .command(args)
            .env("AWS_ENDPOINT_URL", &moto)
            .output()
            .unwrap();
        common::Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let out = run(&["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("PutFunctionConcurrency failed: InvalidParameterValueException"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "AWS keeps at least 100 of its limit unreserved. Lower --reserved-concurrency"
        ),
        "{}",
        out.stderr
    );
    // The function exists and is recorded without its reservation.
    let state = st.state();
    assert_eq!(
        state["resources"]["function"]["properties"]["reserved_concurrency"],
        serde_json::Value::Null,
        "{state}"
    );
    run(&["apply", "--yes", "--reserved-concurrency", "50"]).ok();
    let plan = run(&[
        "plan",
        "--detailed-exitcode",
        "--reserved-concurrency",
        "50",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}

//! Account limits (the stack reserves 100 concurrent executions): a moto of
//! this test's own enforces a Lambda concurrency quota of 150, so reserving
//! 100 would leave 50 unreserved, below AWS's minimum of 100. moto has no
//! GetAccountSettings: the fault proxy answers it (rule `ANSWER`) for the
//! plan's warning, and src/providers/aws/mocked.rs reads it with
//! aws-smithy-mocks.

use crate::common::proxy::Proxy;
use crate::common::{start_moto, TestStack};

/// GetAccountSettings as a new account with a limit of 150 answers it.
const SMALL_ACCOUNT: &str = "Lambda.GetAccountSettings:100:ANSWER:\
    {\"AccountLimit\":{\"ConcurrentExecutions\":150,\"UnreservedConcurrentExecutions\":150}}";

#[test]
fn plan_warns_before_creating_when_the_account_cannot_spare_the_reservation() {
    let st = TestStack::new("quotawarn");
    let proxy = Proxy::start(&["--rule", SMALL_ACCOUNT]);
    let run = |args: &[&str]| st.run_via(&proxy, args);
    let plan = run(&["plan"]).ok();
    assert!(
        plan.stdout.contains(
            "Warning: reserving 100 concurrent executions for the function would leave 50 unreserved"
        ) && plan.stdout.contains("--reserved-concurrency 50 or less"),
        "{}",
        plan.stdout
    );
    let json = run(&["plan", "--json"]).ok().json();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1, "{json}");
    // A reservation that fits is not warned about.
    let fits = run(&["plan", "--reserved-concurrency", "50"]).ok();
    assert!(!fits.stdout.contains("Warning"), "{}", fits.stdout);
    // Once the function exists with its reservation, a converged plan does
    // not ask at all.
    run(&["apply", "--yes", "--reserved-concurrency", "50"]).ok();
    let asked = proxy.stats()["per_operation"]["Lambda.GetAccountSettings"].clone();
    let converged = run(&["plan", "--json", "--reserved-concurrency", "50"])
        .ok()
        .json();
    assert!(converged.get("warnings").is_none(), "{converged}");
    assert_eq!(
        proxy.stats()["per_operation"]["Lambda.GetAccountSettings"],
        asked,
        "no GetAccountSettings on a converged plan"
    );
}

/// A first plan asks for the account's Lambda concurrency alongside its
/// reads, not in a round trip of its own after them: while the role's read
/// is held in the proxy, GetAccountSettings has already been asked.
#[test]
fn the_accounts_concurrency_is_asked_alongside_the_reads() {
    let st = TestStack::new("quotaearly");
    let proxy = Proxy::start(&["--rule", "IAM.GetRole:1:HOLD:", "--rule", SMALL_ACCOUNT]);
    let plan = st
        .command(&["plan"])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait = std::time::Duration::from_secs(120);
    proxy.wait_held(1, wait);
    let asked =
        |stats: &serde_json::Value| stats["per_operation"]["Lambda.GetAccountSettings"].as_u64();
    let start = std::time::Instant::now();
    loop {
        let stats = proxy.stats();
        if asked(&stats) == Some(1) {
            // Asked before GetRole was answered: its first attempt is still
            // held (the SDK would try again after its 30 s attempt timeout,
            // and only then could the reads be done).
            assert_eq!(stats["per_operation"]["IAM.GetRole"], 1, "{stats}");
            break;
        }
        assert!(
            start.elapsed() < wait,
            "GetAccountSettings never asked: {stats}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    proxy.release();
    let out: crate::common::Output = plan.wait_with_output().unwrap().into();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Warning: reserving 100 concurrent executions"),
        "{}",
        out.stdout
    );
    assert_eq!(asked(&proxy.stats()), Some(1), "asked once");
}

#[test]
fn a_reservation_the_account_cannot_spare_is_explained_and_a_smaller_one_applies() {
    let moto = start_moto(&[("MOTO_LAMBDA_CONCURRENCY_QUOTA", "150")]);
    let st = TestStack::new("quota");
    let run = |args: &[&str]| -> crate::common::Output {
        st.command(args)
            .env("AWS_ENDPOINT_URL", &moto)
            .output()
            .unwrap()
            .into()
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

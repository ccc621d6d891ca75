//! Operating the function from the tool: `invoke --local` and `smoke
//! --local` run the handler built from handler/ (the host `bootstrap` that
//! `cargo test --workspace` builds) behind the CLI's own Runtime API,
//! against the emulator's DynamoDB; `logs` reads events put into the
//! emulator's log group.
//!
//! The emulator cannot run a function without Docker, so remote `invoke`
//! and `smoke` are tested through the fault proxy, which answers Lambda's
//! Invoke with exactly what the local runtime produced for the same event
//! (an ANSWER rule); the item they read back is the one that local run
//! recorded.

use crate::common::proxy::Proxy;
use crate::common::{sdk, Output, TestStack};
use aws_sdk_dynamodb::types::AttributeValue;
use std::path::PathBuf;

/// The host build of the handler, beside this test's binary of the CLI.
fn bootstrap() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_webhook-stack")).with_file_name("bootstrap");
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test --workspace` builds the handler's bootstrap",
        exe.display()
    );
    exe
}

fn local(st: &TestStack, args: &[&str]) -> Output {
    let bin = bootstrap();
    let mut all = args.to_vec();
    all.extend(["--local", "--handler-bin", bin.to_str().unwrap()]);
    st.run(&all)
}

async fn item(
    st: &TestStack,
    id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);
    ddb.get_item()
        .table_name(&st.names().table)
        .key("transactionId", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_local_records_the_seed_event_and_a_bad_event_writes_nothing() {
    let st = TestStack::new("oplocal");
    st.run(&["apply", "--yes"]).ok();

    let out = local(&st, &["invoke", "--seed-event", "--json"]).ok();
    let inv = out.json();
    assert_eq!(inv["where"], "local");
    assert_eq!(inv["status_code"], 200);
    assert!(inv["function_error"].is_null(), "{inv}");
    let body: serde_json::Value =
        serde_json::from_str(inv["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["result"], "recorded");
    assert_eq!(body["transactionId"], "txn_test_001");
    let lines = inv["log_tail"].as_array().unwrap();
    assert!(
        lines.iter().any(|l| l
            .as_str()
            .unwrap()
            .contains("\"transaction_id\":\"txn_test_001\"")),
        "{inv}"
    );
    assert!(inv["billed_duration_ms"].as_u64().unwrap() >= 1);
    let recorded = item(&st, "txn_test_001").await.expect("recorded");
    assert_eq!(recorded["amount"], AttributeValue::N("99.99".into()));
    assert_eq!(recorded["currency"], AttributeValue::S("USD".into()));

    // Text: status, body, readable log tail, durations.
    let text = local(&st, &["invoke", "--seed-event"]).ok().stdout;
    assert!(text.contains("status 200"), "{text}");
    assert!(text.contains("\"result\":\"duplicate\""), "{text}");
    assert!(
        text.contains("INFO  [txn_test_001] event processed"),
        "{text}"
    );
    assert!(
        text.contains("Duration: ") && text.contains("billed"),
        "{text}"
    );

    // A bad event: 400 with a clear message, nothing written.
    let bad = r#"{"transactionId":"op_bad_1","amount":-5,"currency":"USD","status":"completed","provider":"stripe","timestamp":"2025-01-15T10:30:00Z"}"#;
    let out = local(&st, &["invoke", "--payload", bad, "--json"]).ok();
    let inv = out.json();
    assert_eq!(inv["status_code"], 400);
    assert!(
        inv["response"]["body"]
            .as_str()
            .unwrap()
            .contains("amount must be greater than zero"),
        "{inv}"
    );
    assert!(item(&st, "op_bad_1").await.is_none());

    // The payload from a file and from stdin; not JSON is refused before
    // anything runs.
    let file = st.dir.join("event.json");
    std::fs::write(&file, crate::common::SEED_EVENT).unwrap();
    local(
        &st,
        &["invoke", "--payload", &format!("@{}", file.display())],
    )
    .ok();
    let bad = local(&st, &["invoke", "--payload", "{not json"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("the payload is not JSON"),
        "{}",
        bad.stderr
    );
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_local_passes_and_leaves_one_marked_item() {
    let st = TestStack::new("opsmoke");
    st.run(&["apply", "--yes"]).ok();
    let out = local(&st, &["smoke"]).ok();
    assert!(
        out.stdout
            .starts_with("smoke PASS: webhook-processor-opsmoke locally recorded smoke-"),
        "{}",
        out.stdout
    );
    let report = local(&st, &["smoke", "--json"]).ok().json();
    assert_eq!(report["passed"], true);
    let id = report["transaction_id"].as_str().unwrap();
    assert!(id.starts_with("smoke-"), "{id}");
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 4);
    assert!(checks.iter().all(|c| c["ok"] == true), "{report}");
    assert!(item(&st, id).await.is_some());

    // The table gone: the function fails, and smoke says so, exit 1.
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);
    ddb.delete_table()
        .table_name(&st.names().table)
        .send()
        .await
        .unwrap();
    let out = local(&st, &["smoke"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("smoke FAIL") && out.stdout.contains("the function failed"),
        "{}",
        out.stdout
    );
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_invoke_and_smoke_read_what_the_function_answered() {
    let st = TestStack::new("opremote");
    st.run(&["apply", "--yes"]).ok();
    // What the handler answers for this event, produced by the local run
    // (which records the item).
    let id = "smoke-opremote-1";
    let local_run = local(&st, &["smoke", "--transaction-id", id, "--json"])
        .ok()
        .json();
    let answer = local_run["invocation"]["response"].to_string();
    let proxy = Proxy::start(&["--rule", &format!("Lambda.Invoke:2:ANSWER:{answer}")]);

    let out = st.run_via(&proxy, &["smoke", "--transaction-id", id]).ok();
    assert!(
        out.stdout.starts_with(&format!(
            "smoke PASS: webhook-processor-opremote on AWS recorded {id}"
        )),
        "{}",
        out.stdout
    );
    let inv = st
        .run_via(&proxy, &["invoke", "--seed-event", "--json"])
        .ok()
        .json();
    assert_eq!(inv["where"], "aws");
    assert_eq!(inv["status_code"], 200);
    assert_eq!(proxy.stats()["per_operation"]["Lambda.Invoke"], 2);
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_show_the_handlers_lines_readably() {
    let st = TestStack::new("oplogs");
    st.run(&["apply", "--yes"]).ok();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk().await);
    let group = st.names().log_group;
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name("2026/12/07/[$LATEST]abc")
        .send()
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let event = |ts: i64, m: &str| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(ts)
            .message(m)
            .build()
            .unwrap()
    };
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name("2026/12/07/[$LATEST]abc")
        .log_events(event(now - 3000, "START RequestId: r1 Version: $LATEST"))
        .log_events(event(
            now - 2000,
            r#"{"timestamp":"2026-12-07T10:30:00.123Z","level":"INFO","message":"event processed","transaction_id":"txn_logs_1","result":"recorded"}"#,
        ))
        .log_events(event(
            now - 1000,
            r#"{"timestamp":"2026-12-07T10:30:01.000Z","level":"WARN","message":"event rejected","transaction_id":"txn_logs_2","field":"amount"}"#,
        ))
        .send()
        .await
        .unwrap();
    let out = st.run(&["logs", "--since", "1h"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].ends_with("START RequestId: r1 Version: $LATEST"));
    assert_eq!(
        lines[1],
        "10:30:00.123 INFO  [txn_logs_1] event processed result=recorded"
    );
    assert_eq!(
        lines[2],
        "10:30:01.000 WARN  [txn_logs_2] event rejected field=amount"
    );
    let only = st
        .run(&["logs", "--since", "1h", "--filter", "txn_logs_2"])
        .ok();
    assert_eq!(only.stdout.lines().count(), 1, "{}", only.stdout);
    let raw = st.run(&["logs", "--since", "1h", "--json"]).ok();
    let first: serde_json::Value =
        serde_json::from_str(raw.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["message"], "START RequestId: r1 Version: $LATEST");
    let bad = st.run(&["logs", "--since", "soon"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("is not a duration"), "{}", bad.stderr);
    st.run(&["destroy", "--yes"]).ok();
}

/// The handler with its role's permissions and nothing else: the built
/// handler runs here behind the CLI's Runtime API, and every DynamoDB
/// request it makes goes through the authorizing proxy as the function's
/// role would make it (`assumed-role/ROLE/FUNCTION`), under the role's
/// inline policy as deployed. The seed event, its redelivery and an older
/// update of it are recorded so; without any action the handler called,
/// the event is refused. The CLI's own call (STS GetCallerIdentity, for
/// the account) needs no permission.
#[tokio::test(flavor = "multi_thread")]
async fn the_handler_needs_exactly_the_dynamodb_actions_its_role_grants_that_it_calls() {
    use crate::common::{ACCOUNT, SEED_EVENT};
    let st = TestStack::new("oprole");
    st.run(&["apply", "--yes"]).ok();
    let n = st.names();
    let iam = aws_sdk_iam::Client::new(&sdk().await);
    let deployed = crate::common::spec::inline_policy(&iam, &n.role, &n.role_policy).await;
    let principal = format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/{}/{}",
        n.role, n.function
    );
    let proxy = Proxy::start(&[]);
    let bin = bootstrap();
    // The seed event, the same again (a duplicate) and an older update of
    // the same transaction (stale), under a transaction id of the run's.
    let events = |id: &str| {
        let seed = SEED_EVENT.replace("txn_test_001", id);
        let older = seed
            .replace("\"completed\"", "\"authorized\"")
            .replace("10:30:00Z", "10:00:00Z");
        [seed.clone(), seed, older]
    };
    let run = |policy: &serde_json::Value, id: &str| -> Vec<(u64, bool)> {
        proxy.set_policy(Some(policy), &principal);
        events(id)
            .iter()
            .map(|payload| {
                let out = st
                    .run_via(
                        &proxy,
                        &[
                            "invoke",
                            "--payload",
                            payload,
                            "--json",
                            "--local",
                            "--handler-bin",
                            bin.to_str().unwrap(),
                        ],
                    )
                    .json();
                let body: serde_json::Value =
                    serde_json::from_str(out["response"]["body"].as_str().unwrap_or("{}"))
                        .unwrap_or_default();
                (
                    out["status_code"].as_u64().unwrap_or(0),
                    out["function_error"].is_null() && body["result"].is_string(),
                )
            })
            .collect()
    };

    let answers = run(&deployed, "role_all");
    assert!(
        answers.iter().all(|(status, ok)| *status == 200 && *ok),
        "{answers:?}"
    );
    assert!(proxy.denied().is_empty(), "{:?}", proxy.denied());
    assert!(item(&st, "role_all").await.is_some());
    let called: Vec<String> = proxy.stats()["per_operation"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|op| op.strip_prefix("DynamoDB."))
        .map(|op| format!("dynamodb:{op}"))
        .collect();
    assert!(
        called.contains(&"dynamodb:UpdateItem".to_string()),
        "{called:?}"
    );

    // Each DynamoDB action the role grants, taken out of its policy.
    let statement = deployed["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["Sid"] == "ReadWriteTransactions")
        .unwrap();
    let granted: Vec<String> = deployed["Statement"][statement]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let mut unused = Vec::new();
    for action in &granted {
        let mut reduced = deployed.clone();
        reduced["Statement"][statement]["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != action.as_str());
        let id = format!("role_no_{}", action.replace(':', "_"));
        let answers = run(&reduced, &id);
        let refused = proxy
            .denied()
            .keys()
            .any(|k| k.starts_with(action.as_str()));
        if called.contains(action) {
            assert!(refused, "{action}: {:?}", proxy.denied());
            assert!(
                answers.iter().any(|(status, ok)| *status != 200 || !ok),
                "without {action}: {answers:?}"
            );
        } else {
            assert!(
                !refused && answers.iter().all(|a| a.1),
                "{action}: {answers:?}"
            );
            unused.push(action.clone());
        }
    }
    // The role keeps the CloudFormation stack's PutItem, which the handler
    // never calls (it writes with conditional UpdateItem); GetItem is
    // called only when a refused write's error carries no item, which the
    // emulator's always does.
    assert!(
        unused.contains(&"dynamodb:PutItem".to_string()),
        "{unused:?}"
    );
    assert!(!unused.contains(&"dynamodb:UpdateItem".to_string()));
    eprintln!("granted {granted:?}, called {called:?}, never called {unused:?}");
    st.run(&["destroy", "--yes"]).ok();
}

//! What a user reads, pinned as snapshots (`insta`): the plan of a new
//! stack as text and as JSON, and a drift report. Ids that change from run
//! to run (KMS key ids, lineage, the test's process id in paths) are
//! replaced by placeholders first; everything else must match byte for
//! byte. To review a change: `cargo insta review`, or rerun with
//! `INSTA_UPDATE=always` and read the diff of `tests/it/snapshots/`.

use crate::common::{sdk, TestStack};

/// Replaces each UUID (8-4-4-4-12 hex digits) with `<uuid>`.
fn redact_uuids(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let len = 36;
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + len <= bytes.len() && is_uuid(&bytes[i..i + len], &shape) {
            out.push_str("<uuid>");
            i += len;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_uuid(b: &[u8], shape: &[usize]) -> bool {
    let mut at = 0;
    for (n, group) in shape.iter().enumerate() {
        if n > 0 {
            if b[at] != b'-' {
                return false;
            }
            at += 1;
        }
        if !b[at..at + group].iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        at += group;
    }
    true
}

#[test]
fn the_plan_of_a_new_stack_as_text_and_json() {
    let st = TestStack::new("snapnew");
    let text = st.run(&["plan"]).ok();
    insta::assert_snapshot!("plan_new_stack_text", redact_uuids(&text.stdout));
    let mut json = st.run(&["plan", "--json"]).ok().json();
    // The number of calls is measured elsewhere; here only the plan's form.
    json["aws_calls"] = serde_json::Value::Null;
    insta::assert_snapshot!(
        "plan_new_stack_json",
        redact_uuids(&serde_json::to_string_pretty(&json).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drift_report_and_the_plan_that_undoes_it() {
    let st = TestStack::new("snapdrift");
    st.run(&["apply", "--yes"]).ok();
    let cfg = sdk().await;
    aws_sdk_cloudwatchlogs::Client::new(&cfg)
        .put_retention_policy()
        .log_group_name("/aws/lambda/webhook-processor-snapdrift")
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&cfg)
        .put_function_concurrency()
        .function_name("webhook-processor-snapdrift")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    let drift = st.run(&["drift"]);
    assert_eq!(drift.code, 2, "{}", drift.stderr);
    insta::assert_snapshot!("drift_text", redact_uuids(&drift.stdout));
    let plan = st.run(&["plan"]).ok();
    insta::assert_snapshot!("plan_undoing_drift_text", redact_uuids(&plan.stdout));
    st.run(&["destroy", "--yes"]).ok();
}

#[test]
fn uuids_are_redacted_and_nothing_else() {
    assert_eq!(
        redact_uuids("key 3f70f265-aac6-42f3-89a2-c6bd77073b2a, not 3f70f265-aac6"),
        "key <uuid>, not 3f70f265-aac6"
    );
}

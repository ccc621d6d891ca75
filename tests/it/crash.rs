//! Crash safety: a run killed between an AWS create and the state write must
//! not lead to a duplicate on the next run.

use crate::common::spec::live_keys;
use crate::common::{sdk, TestStack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_key_created_by_a_killed_run_is_adopted_not_duplicated() {
    let st = TestStack::new("killedkey");
    let s = st.suffix.clone();
    // What a run killed right after CreateKey leaves: the intent in state,
    // and a key with the stack's tags but no alias.
    std::fs::create_dir_all(st.state_dir()).unwrap();
    let state = json!({
        "version": 1, "lineage": "00000000-0000-4000-8000-000000000000", "serial": 1,
        "suffix": s, "region": "us-east-1", "account": "123456789012",
        "resources": {},
        "pending": {"kms_key": {"type": "aws:kms/key", "started": "2026-11-29T10:00:00Z"}}
    });
    std::fs::write(st.state_path(), state.to_string()).unwrap();
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    let tag = |k: &str, v: &str| {
        aws_sdk_kms::types::Tag::builder()
            .tag_key(k)
            .tag_value(v)
            .build()
            .unwrap()
    };
    let orphan = kms
        .create_key()
        .description(format!(
            "webhook-processor-{s}: Lambda environment variables and CloudWatch Logs"
        ))
        .tags(tag("Project", "webhook-processor"))
        .tags(tag("Environment", &s))
        .tags(tag("ManagedBy", "webhook-stack"))
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;

    let plan = st.run(&["plan"]).ok();
    assert!(
        plan.stdout.contains(&format!(
            "kms_key (aws:kms/key) {orphan} exists but is not in state: it will be adopted and updated in place"
        )),
        "{}",
        plan.stdout
    );
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(
        live_keys(&s).await,
        std::slice::from_ref(&orphan),
        "no second key"
    );
    let state = st.state();
    assert_eq!(state["resources"]["kms_key"]["id"], orphan.as_str());
    assert!(
        state.get("pending").is_none(),
        "the intent is settled: {state}"
    );
    st.run(&["plan", "--detailed-exitcode"]).ok();
}

/// A CreateKey that AWS carried out but whose answer was lost (the proxy
/// forwards it, then drops the connection): our own retry makes a second
/// key, and the run then schedules the first for deletion and says so, so
/// the stack never keeps two live keys.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_key_whose_answer_was_lost_leaves_one_live_key() {
    let st = TestStack::new("lostkey");
    let proxy = crate::common::proxy::Proxy::start(&["--rule", "KMS.CreateKey:1:DROP_AFTER:"]);
    let out = st.run_via(&proxy, &["apply", "--yes"]);
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{stderr}");
    assert_eq!(proxy.stats()["per_operation"]["KMS.CreateKey"], 2);
    let live = live_keys(&st.suffix).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(
        live[0],
        st.state()["resources"]["kms_key"]["id"].as_str().unwrap(),
        "the recorded key is the one kept"
    );
    assert!(
        stderr.contains("was never recorded (made by an earlier CreateKey whose run died or whose answer was lost)")
            && stderr.contains("scheduled"),
        "{stderr}"
    );
    crate::common::spec::check_spec(&st.suffix).await;
}

//! Regressions of state bookkeeping found by reading the engine, each named
//! after what it guards, against moto (and the fault proxy where AWS must
//! refuse something moto would allow).

use crate::common::proxy::Proxy;
use crate::common::spec::live_keys;
use crate::common::{drifted, sdk, TestStack};
use std::process::Stdio;

fn resource_id(st: &TestStack, key: &str) -> Option<String> {
    st.state()["resources"][key]["id"]
        .as_str()
        .map(str::to_owned)
}

/// `apply --replace table` whose DeleteTable AWS refuses (here: in use)
/// dropped the still-existing table from state; the next plan then refused
/// it as unmanaged and destroy left it behind. The same for the key when
/// ScheduleKeyDeletion is refused.
#[tokio::test(flavor = "multi_thread")]
async fn regression_a_refused_delete_in_a_replace_keeps_the_resource_in_state() {
    let st = TestStack::new("regrepl");
    st.run(&["apply", "--yes"]).ok();
    let table = resource_id(&st, "table").unwrap();
    let key = resource_id(&st, "kms_key").unwrap();
    for (resource, rule) in [
        (
            "table",
            "DynamoDB.DeleteTable:1:ResourceInUseException:Attempt to change a resource which is still in use",
        ),
        (
            "kms_key",
            "KMS.ScheduleKeyDeletion:1:AccessDeniedException:User is not authorized to perform: kms:ScheduleKeyDeletion",
        ),
    ] {
        let proxy = Proxy::start(&["--rule", rule]);
        let out = st.run_via(&proxy, &["apply", "--yes", "--replace", resource]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        if resource == "kms_key" {
            // A refusal names the action and says what prints the policy.
            assert!(
                out.stderr.contains("not authorized to perform: kms:ScheduleKeyDeletion")
                    && out.stderr.contains("`webhook-stack permissions` prints the IAM policy"),
                "{}",
                out.stderr
            );
        }
        let state = st.state();
        assert!(
            state["pending"].get(resource).is_none(),
            "nothing was created: {state}"
        );
    }
    assert_eq!(resource_id(&st, "table").as_deref(), Some(table.as_str()));
    assert_eq!(resource_id(&st, "kms_key").as_deref(), Some(key.as_str()));
    // Still the stack's: planned as in sync, and destroyed.
    let plan = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    st.run(&["destroy", "--yes"]).ok();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);
    assert!(ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .is_err());
    assert!(live_keys(&st.suffix).await.is_empty());
}

/// With alarms on, one alarm deleted out of band, then `apply
/// --alarms=false`: apply made no change and state kept the gone alarm, so
/// drift exited 2 on every run after it.
#[tokio::test(flavor = "multi_thread")]
async fn regression_turning_alarms_off_forgets_an_alarm_already_gone() {
    let st = TestStack::new("regalarm");
    let n = st.names();
    st.run(&["apply", "--yes", "--alarms"]).ok();
    let cw = aws_sdk_cloudwatch::Client::new(&sdk().await);
    cw.delete_alarms()
        .alarm_names(&n.alarm_duration)
        .send()
        .await
        .unwrap();
    st.run(&["apply", "--yes", "--alarms=false"]).ok();
    let state = st.state();
    let keys: Vec<&String> = state["resources"].as_object().unwrap().keys().collect();
    assert!(keys.iter().all(|k| !k.starts_with("alarm_")), "{keys:?}");
    assert_eq!(drifted(&st), (0, vec![]));
    st.run(&["destroy", "--yes"]).ok();
}

/// A pending-creation entry outlived its resource: a no-change apply, an
/// import or a delete did not clear it, and destroy ignored one of a
/// resource the program no longer declares.
#[tokio::test(flavor = "multi_thread")]
async fn regression_pending_creations_are_settled_and_destroy_leaves_an_empty_state() {
    let st = TestStack::new("regpend");
    let n = st.names();
    st.run(&["apply", "--yes", "--alarms"]).ok();
    let pending = |kind: &str| serde_json::json!({"type": kind, "started": "2026-01-01T00:00:00Z"});
    // Hand the state two pending entries: the function (recorded and live)
    // and an alarm that state no longer records (as if the run that
    // created it died before saving).
    let mut state = st.state();
    state["pending"] = serde_json::json!({
        "function": pending("aws:lambda/function"),
        "alarm_throttles": pending("aws:cloudwatch/metricAlarm"),
    });
    state["resources"]
        .as_object_mut()
        .unwrap()
        .remove("alarm_throttles");
    std::fs::write(st.state_path(), serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    // Alarms off: the pending alarm is the stack's (tagged) and is deleted;
    // the function's pending entry is settled by its no-change step.
    st.run(&["apply", "--yes", "--alarms=false"]).ok();
    let state = st.state();
    assert!(state.get("pending").is_none(), "{state}");
    let cw = aws_sdk_cloudwatch::Client::new(&sdk().await);
    let left = cw
        .describe_alarms()
        .alarm_names(&n.alarm_throttles)
        .send()
        .await
        .unwrap();
    assert!(left.metric_alarms().is_empty());

    // A pending entry of something that never came to be: destroy leaves
    // an empty state all the same.
    let mut state = st.state();
    state["pending"] = serde_json::json!({"alarm_duration": pending("aws:cloudwatch/metricAlarm")});
    std::fs::write(st.state_path(), serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    st.run(&["destroy", "--yes"]).ok();
    let state = st.state();
    assert!(state.get("pending").is_none(), "{state}");
    assert_eq!(state["resources"], serde_json::json!({}));
}

/// `drift | head -1` and `plan --json | head -c 10` panicked ("failed
/// printing to stdout: Broken pipe") with a backtrace and exit 101. The
/// reader here closes its end before the tool writes anything.
#[test]
fn regression_a_closed_pipe_ends_quietly_without_a_panic() {
    let st = TestStack::new("regpipe");
    st.run(&["apply", "--yes"]).ok();
    for args in [&["drift"][..], &["plan", "--json"][..]] {
        let mut child = st
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.trim().is_empty(), "{args:?}: {stderr}");
    }
    st.run(&["destroy", "--yes"]).ok();
}

/// `state migrate` of a hand-edited state at serial 0 underflowed its serial.
#[test]
fn regression_migrating_a_serial_zero_state_keeps_serials_rising() {
    let st = TestStack::new("regmig");
    st.run(&["config", "set", "memory_size", "2048"]).ok();
    let mut state = st.state();
    state["serial"] = serde_json::json!(0);
    std::fs::write(st.state_path(), serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let to = st.dir.join("elsewhere");
    let out = st
        .run(&[
            "state",
            "migrate",
            "--to",
            &format!("file://{}", to.display()),
        ])
        .ok();
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let copied: serde_json::Value =
        serde_json::from_slice(&std::fs::read(to.join("regmig.json")).unwrap()).unwrap();
    assert_eq!(copied["serial"], 1);
    assert_eq!(copied["lineage"], state["lineage"]);
}

/// The KMS orphan sweep (after a CreateKey whose answer was lost) could
/// schedule for deletion a key with the stack's tags that an alias of
/// another state targets. A key an alias targets is never an orphan.
#[tokio::test(flavor = "multi_thread")]
async fn regression_the_orphan_sweep_spares_a_key_that_an_alias_targets() {
    let st = TestStack::new("regsweep");
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    // Another state's key for the same suffix, made moments ago.
    let tag = |k: &str, v: &str| {
        aws_sdk_kms::types::Tag::builder()
            .tag_key(k)
            .tag_value(v)
            .build()
            .unwrap()
    };
    let other = kms
        .create_key()
        .tags(tag("Project", "webhook-processor"))
        .tags(tag("Environment", &st.suffix))
        .tags(tag("ManagedBy", "webhook-stack"))
        .send()
        .await
        .unwrap();
    let other = other.key_metadata().unwrap().key_id().to_owned();
    kms.create_alias()
        .alias_name("alias/webhook-processor-regsweep-elsewhere")
        .target_key_id(&other)
        .send()
        .await
        .unwrap();
    let proxy = Proxy::start(&["--rule", "KMS.CreateKey:1:DROP_AFTER:"]);
    let out = st.run_via(&proxy, &["apply", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let meta = kms.describe_key().key_id(&other).send().await.unwrap();
    assert_eq!(
        meta.key_metadata().unwrap().key_state(),
        Some(&aws_sdk_kms::types::KeyState::Enabled),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&format!("scheduled {other}")));
    st.run(&["destroy", "--yes"]).ok();
}

//! state in S3 with conditional writes and a lock object, against
//! moto's S3 (it implements `If-None-Match: *` and `If-Match` on PutObject
//! and DeleteObject). moto checks each condition without a lock across
//! requests, so these tests check the client's logic, not S3's atomicity:
//! the races are staged in order, one request at a time, by holding a
//! request in the fault proxy (a HOLD rule) and acting while it waits.

use crate::common::proxy::Proxy;
use crate::common::spec::check_spec;
use crate::common::TestStack;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(120);

async fn s3() -> aws_sdk_s3::Client {
    let cfg = crate::common::sdk().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(true)
            .build(),
    )
}

/// A fresh bucket, with versioning enabled or suspended. (moto answers
/// GetBucketVersioning of a bucket that never had versioning with a body
/// the SDK cannot parse, so "off" is tested as suspended.)
pub async fn bucket(name: &str, versioning: bool) -> aws_sdk_s3::Client {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let s3 = s3().await;
    s3.create_bucket().bucket(name).send().await.unwrap();
    let status = if versioning {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    s3.put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .unwrap();
    s3
}

pub async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(out.body.collect().await.unwrap().into_bytes().to_vec())
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

/// A run in the background, through `proxy`, with its stderr lines sent
/// to a channel as they come.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn start(st: &TestStack, proxy: &Proxy, args: &[&str]) -> Background {
        let mut child = st
            .command(args)
            .env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Background {
            child,
            lines,
            seen: vec![],
        }
    }

    /// Waits for a stderr line containing `text`.
    fn wait_for(&mut self, text: &str) {
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!("no line with {text:?} in:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Exit code and the whole of stderr.
    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        (status.code().unwrap_or(-1), self.seen.join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_is_refused_naming_the_holder_and_the_lock_goes_on_success_failure_and_ctrl_c()
{
    let s3 = bucket("lock-release", true).await;
    let url = "s3://lock-release/team";
    let st = TestStack::with_backend("s3lock", url);
    let lock_key = "team/s3lock.json.lock";

    // A holds the lock while its CreateFunction waits in the proxy.
    let proxy = Proxy::start(&["--rule", "Lambda.CreateFunction:1:HOLD:"]);
    let a = Background::start(&st, &proxy, &["apply", "--yes"]);
    proxy.wait_held(1, WAIT);
    let lock: serde_json::Value =
        serde_json::from_slice(&object(&s3, "lock-release", lock_key).await.unwrap()).unwrap();
    assert_eq!(lock["pid"], a.child.id());
    assert_eq!(lock["command"], "apply");
    let id = lock["id"].as_str().unwrap().to_owned();
    for args in [
        &["apply", "--yes"][..],
        &["config", "set", "memory_size", "2048"],
        &["destroy", "--yes"],
    ] {
        let out = st.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(
            out.stderr
                .contains(&format!("state is locked by pid {} on", a.child.id())),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("lock id {id}")),
            "{}",
            out.stderr
        );
    }
    // A plan takes no lock.
    st.run(&["plan"]).ok();
    proxy.release();
    let (code, stderr) = a.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        object(&s3, "lock-release", lock_key).await.is_none(),
        "released on success"
    );
    check_spec(&st.suffix).await;

    // Released on failure: the apply fails at a change AWS refuses.
    let failing = Proxy::start(&[
        "--rule",
        "Lambda.UpdateFunctionConfiguration:6:InvalidParameterValueException:Unsupported memory size",
    ]);
    let out: crate::common::Output = st
        .command(&["apply", "--yes", "--memory-size", "2048"])
        .env("AWS_ENDPOINT_URL", &failing.endpoint)
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("Unsupported memory size"),
        "{}",
        out.stderr
    );
    assert!(
        object(&s3, "lock-release", lock_key).await.is_none(),
        "released on failure"
    );
    // The failed apply did not save its flag.
    assert_eq!(
        st.run(&["config", "get", "memory_size"]).ok().stdout.trim(),
        "1024"
    );

    // Released on Ctrl-C: the interrupted run finishes its call in flight
    // (the key), starts nothing more, saves state and lets go of the lock.
    st.run(&["destroy", "--yes"]).ok();
    let proxy = Proxy::start(&["--rule", "KMS.CreateKey:1:HOLD:"]);
    let mut b = Background::start(&st, &proxy, &["apply", "--yes"]);
    proxy.wait_held(1, WAIT);
    std::process::Command::new("kill")
        .args(["-INT", &b.child.id().to_string()])
        .status()
        .unwrap();
    b.wait_for("Interrupted");
    proxy.release();
    let (code, stderr) = b.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Stopped early because of an interrupt"),
        "{stderr}"
    );
    assert!(
        object(&s3, "lock-release", lock_key).await.is_none(),
        "released on Ctrl-C"
    );
    let saved: serde_json::Value = serde_json::from_slice(
        &object(&s3, "lock-release", "team/s3lock.json")
            .await
            .unwrap(),
    )
    .unwrap();
    // The key and the table (which needs nothing) had started when the
    // interrupt came; nothing that depends on them was started.
    assert_eq!(
        saved["resources"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["kms_key", "table"],
        "what was created before the interrupt is in state"
    );
    st.run(&["apply", "--yes"]).ok();
    check_spec(&st.suffix).await;
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_leaves_the_lock_until_force_unlock_by_its_id_and_a_rerun_converges() {
    let s3 = bucket("lock-kill", true).await;
    let st = TestStack::with_backend("s3kill", "s3://lock-kill");
    let proxy = Proxy::start(&["--rule", "Lambda.CreateFunction:1:HOLD:"]);
    let mut a = Background::start(&st, &proxy, &["apply", "--yes"]);
    proxy.wait_held(1, WAIT);
    a.child.kill().unwrap();
    let (code, _) = a.finish();
    assert_eq!(code, -1, "killed");
    let lock: serde_json::Value =
        serde_json::from_slice(&object(&s3, "lock-kill", "s3kill.json.lock").await.unwrap())
            .unwrap();
    let id = lock["id"].as_str().unwrap();

    let out = st.run(&["apply", "--yes"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "If that run died, `webhook-stack force-unlock {id}`"
        )),
        "{}",
        out.stderr
    );
    let out = st.run(&["force-unlock"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("removed only by its id"),
        "{}",
        out.stderr
    );
    let out = st.run(&["force-unlock", "not-the-id"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nothing was removed"), "{}", out.stderr);
    assert!(object(&s3, "lock-kill", "s3kill.json.lock").await.is_some());
    let out = st.run(&["force-unlock", id]).ok();
    assert!(out.stderr.contains("Removed the lock"), "{}", out.stderr);
    assert!(object(&s3, "lock-kill", "s3kill.json.lock").await.is_none());

    // The held CreateFunction goes through only now, after its client died:
    // the rerun adopts the function it made (its tags are the stack's).
    proxy.release();
    drop(proxy);
    st.run(&["apply", "--yes"]).ok();
    check_spec(&st.suffix).await;
    st.run(&["plan", "--detailed-exitcode"]).ok();
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_behind_the_tools_back_fails_the_next_save_and_changes_nothing() {
    let s3 = bucket("lost-update", true).await;
    let st = TestStack::with_backend("s3race", "s3://lost-update/p");
    let key = "p/s3race.json";
    st.run(&["config", "set", "log_level", "debug"]).ok();
    let proxy = Proxy::start(&["--rule", "Lambda.CreateFunction:1:HOLD:"]);
    let a = Background::start(&st, &proxy, &["apply", "--yes"]);
    proxy.wait_held(1, WAIT);
    // Someone writes the state without the lock while the apply runs.
    let mut theirs: serde_json::Value =
        serde_json::from_slice(&object(&s3, "lost-update", key).await.unwrap()).unwrap();
    theirs["serial"] = (theirs["serial"].as_u64().unwrap() + 100).into();
    let theirs = serde_json::to_vec_pretty(&theirs).unwrap();
    put(&s3, "lost-update", key, theirs.clone()).await;
    proxy.release();
    let (code, stderr) = a.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("was changed by someone else since this run read it"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        object(&s3, "lost-update", key).await.unwrap(),
        theirs,
        "their write stands"
    );
    assert!(object(&s3, "lost-update", "p/s3race.json.lock")
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_holder_does_not_delete_a_newer_holders_lock() {
    let s3 = bucket("stale-holder", true).await;
    let st = TestStack::with_backend("s3stale", "s3://stale-holder");
    let lock_key = "s3stale.json.lock";
    let proxy = Proxy::start(&["--rule", "Lambda.CreateFunction:1:HOLD:"]);
    let a = Background::start(&st, &proxy, &["apply", "--yes"]);
    proxy.wait_held(1, WAIT);
    let lock: serde_json::Value =
        serde_json::from_slice(&object(&s3, "stale-holder", lock_key).await.unwrap()).unwrap();
    // Someone takes A for dead, clears its lock, and a newer run takes it.
    st.run(&["force-unlock", lock["id"].as_str().unwrap()]).ok();
    let newer = serde_json::json!({"id": "newer-holder", "pid": 1, "host": "ci",
        "started": "2026-11-30T08:00:00Z", "command": "apply"});
    put(
        &s3,
        "stale-holder",
        lock_key,
        newer.to_string().into_bytes(),
    )
    .await;
    proxy.release();
    let (code, stderr) = a.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("it was left in place"), "{stderr}");
    let left: serde_json::Value =
        serde_json::from_slice(&object(&s3, "stale-holder", lock_key).await.unwrap()).unwrap();
    assert_eq!(left["id"], "newer-holder");
    st.run(&["force-unlock", "newer-holder"]).ok();
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_request_whose_answer_was_lost_recognises_its_own_lock() {
    let s3 = bucket("lost-lock-answer", true).await;
    let st = TestStack::with_backend("s3drop", "s3://lost-lock-answer");
    // The first PutObject is the lock: forwarded, then the connection is
    // dropped. The SDK retries; S3 answers 412, and the lock found is ours.
    let proxy = Proxy::start(&["--rule", "S3.PutObject:1:DROP_AFTER:"]);
    let out = st.run_via(&proxy, &["apply", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        proxy.stats()["rules_fired"]["S3.PutObject"],
        1,
        "{}",
        proxy.stats()
    );
    assert!(object(&s3, "lost-lock-answer", "s3drop.json.lock")
        .await
        .is_none());
    check_spec(&st.suffix).await;
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_and_state_travel_with_the_backend_and_migrate_keeps_lineage_and_serial() {
    let s3 = bucket("team-state", false).await;
    // A stack made on one laptop, with local state and a saved setting.
    let laptop = TestStack::new("s3team");
    laptop
        .run(&["apply", "--yes", "--memory-size", "2048"])
        .ok();
    let local = laptop.state();
    let out = laptop
        .run(&["state", "migrate", "--to", "s3://team-state/stacks"])
        .ok();
    assert!(
        out.stdout.contains("The old copy is still at"),
        "{}",
        out.stdout
    );
    let moved: serde_json::Value = serde_json::from_slice(
        &object(&s3, "team-state", "stacks/s3team.json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(moved["lineage"], local["lineage"]);
    assert_eq!(moved["serial"], local["serial"]);
    assert_eq!(moved, local);

    // A teammate in another working directory plans with the saved setting.
    let teammate = TestStack::with_backend("s3team", "s3://team-state/stacks");
    let plan = teammate
        .command(&["plan", "--detailed-exitcode"])
        .current_dir(&teammate.dir)
        .output()
        .unwrap();
    let plan: crate::common::Output = plan.into();
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("memory_size = 2048 (saved)"),
        "{}",
        plan.stdout
    );
    // (The versioning warning is tested in src/state/s3.rs: moto's answer
    // to GetBucketVersioning cannot be parsed by the SDK.)
    // Settings set from one directory are planned from another.
    teammate
        .command(&["config", "set", "timeout", "45"])
        .current_dir(&laptop.dir)
        .status()
        .unwrap();
    let plan: crate::common::Output = teammate
        .command(&["plan", "--json"])
        .current_dir(&teammate.dir)
        .output()
        .unwrap()
        .into();
    let plan = plan.ok().json();
    assert_eq!(plan["settings"]["timeout"]["value"], 45);
    assert_eq!(plan["settings"]["timeout"]["source"], "saved");
    assert_eq!(plan["summary"]["change"], 1);
    // The S3 calls a converged plan adds over the local backend: the state
    // object and the bucket's versioning.
    let s3_calls: Vec<(&String, &serde_json::Value)> = plan["aws_calls"]["by_operation"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| op.starts_with("S3:"))
        .collect();
    assert_eq!(
        format!("{s3_calls:?}"),
        r#"[("S3:GetBucketVersioning", Number(1)), ("S3:GetObject", Number(1))]"#
    );

    // state list and show, and drift --all through ListObjectsV2.
    let list = teammate.run(&["state", "list"]).ok();
    assert!(list.stdout.contains("function"), "{}", list.stdout);
    let show = teammate
        .run(&["state", "show", "function", "--json"])
        .ok()
        .json();
    assert_eq!(show["state"]["properties"]["memory_size"], 2048);
    let all = teammate.run(&["drift", "--all", "--json"]).ok().json();
    assert_eq!(all["stacks"].as_array().unwrap().len(), 1);

    // The laptop's copy is now older than the bucket's: migrating it again
    // would lose the teammate's change, and is refused.
    let before = object(&s3, "team-state", "stacks/s3team.json")
        .await
        .unwrap();
    let out = laptop.run(&["state", "migrate", "--to", "s3://team-state/stacks"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("which is not an older copy of this one"),
        "{}",
        out.stderr
    );
    assert_eq!(
        object(&s3, "team-state", "stacks/s3team.json")
            .await
            .unwrap(),
        before
    );
    teammate.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_fifth_of_requests_faulted_an_s3_stack_still_converges() {
    let s3 = bucket("faulty-state", true).await;
    let st = TestStack::with_backend("s3faults", "s3://faulty-state/f");
    let proxy = Proxy::start(&[
        "--fault-rate",
        "0.2",
        "--seed",
        "20261130",
        "--faults",
        "throttle,500,503,drop",
    ]);
    let via = |args: &[&str]| st.run_via(&proxy, args);
    // A saved setting that leaves the declared stack as it is (alarms are off).
    let topic = "arn:aws:sns:us-east-1:123456789012:pager";
    via(&["config", "set", "alarm_topic_arn", topic]).ok();
    via(&["apply", "--yes"]).ok();
    check_spec(&st.suffix).await;
    let plan = via(&["plan", "--detailed-exitcode"]).ok();
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains(&format!("alarm_topic_arn = \"{topic}\" (saved)")),
        "{}",
        plan.stdout
    );
    via(&["drift"]).ok();
    via(&["destroy", "--yes"]).ok();
    let state: serde_json::Value = serde_json::from_slice(
        &object(&s3, "faulty-state", "f/s3faults.json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(state["resources"], serde_json::json!({}));
    assert!(object(&s3, "faulty-state", "f/s3faults.json.lock")
        .await
        .is_none());
    let stats = proxy.stats();
    let s3_faults: u64 = stats["per_operation_faults"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| op.starts_with("S3."))
        .flat_map(|(_, kinds)| kinds.as_object().unwrap().values())
        .filter_map(serde_json::Value::as_u64)
        .sum();
    eprintln!(
        "{} requests, {} faulted, {s3_faults} of them S3 calls",
        stats["requests"], stats["faults_total"]
    );
    assert!(s3_faults >= 3, "{stats}");
}

/// Regression: a bucket that keeps refusing the lock's conditional
/// PutObject while no lock object exists made the lock loop spin without
/// pause or end. Now it backs off and gives up with what it saw.
#[tokio::test(flavor = "multi_thread")]
async fn regression_a_lock_refused_with_no_lock_object_gives_up_instead_of_spinning() {
    let bucket_name = "state-lock-spin";
    bucket(bucket_name, true).await;
    let st = TestStack::with_backend("s3spin", &format!("s3://{bucket_name}/team"));
    let proxy = Proxy::start(&[
        "--rule",
        "S3.PutObject:100:412/PreconditionFailed:At least one of the pre-conditions you specified did not hold",
    ]);
    let out = st.run_via(&proxy, &["config", "set", "memory_size", "2048"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("refused the lock 6 times in a row, yet no lock object exists"),
        "{}",
        out.stderr
    );
    assert_eq!(proxy.stats()["per_operation"]["S3.PutObject"], 6);
}

/// Regression: `force-unlock ID` said it removed the lock when its
/// conditional delete removed nothing (the lock changed in between).
#[tokio::test(flavor = "multi_thread")]
async fn regression_force_unlock_says_so_when_its_conditional_delete_removed_nothing() {
    let bucket_name = "state-unlock-changed";
    let s3 = bucket(bucket_name, true).await;
    let st = TestStack::with_backend("s3unl", &format!("s3://{bucket_name}/team"));
    let key = "team/s3unl.json.lock";
    let holder = serde_json::json!({
        "id": "dead-run", "pid": 1, "host": "ci", "user": "ci",
        "started": "2026-01-01T00:00:00Z", "command": "apply"
    });
    put(&s3, bucket_name, key, serde_json::to_vec(&holder).unwrap()).await;
    let proxy = Proxy::start(&[
        "--rule",
        "S3.DeleteObject:1:412/PreconditionFailed:At least one of the pre-conditions you specified did not hold",
    ]);
    let out = st.run_via(&proxy, &["force-unlock", "dead-run"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("changed while it was being removed")
            && out.stderr.contains("Nothing was removed"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Removed the lock"), "{}", out.stderr);
    assert!(object(&s3, bucket_name, key).await.is_some());
    // Without the interference it goes.
    st.run(&["force-unlock", "dead-run"]).ok();
    assert!(object(&s3, bucket_name, key).await.is_none());
}

/// `drift --record` keeps each run's report beside the state (a local
/// directory and an S3 prefix alike), the last 100 per stack; `drift
/// history [--all]` says when each stack was last checked, whether it
/// drifted, which resources, and since when.
#[tokio::test(flavor = "multi_thread")]
async fn drift_history_says_when_each_stack_was_checked_and_since_when_it_drifted() {
    let s3 = bucket("drift-history", true).await;
    let local = TestStack::new("histlocal");
    let remote = TestStack::with_backend("histremote", "s3://drift-history/fleet");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&crate::common::sdk().await);
    for st in [&local, &remote] {
        st.run(&["apply", "--yes"]).ok();
        assert_eq!(st.run(&["drift", "--record"]).code, 0);
        logs.put_retention_policy()
            .log_group_name(st.names().log_group)
            .retention_in_days(1)
            .send()
            .await
            .unwrap();
        assert_eq!(st.run(&["drift", "--record"]).code, 2);
        assert_eq!(st.run(&["drift", "--record", "--json"]).code, 2);
        let h = st.run(&["drift", "history", "--json"]).ok().json();
        let s = &h["stacks"][0];
        assert_eq!(s["suffix"], st.suffix.as_str(), "{h}");
        assert_eq!(s["records"], 3, "{h}");
        assert_eq!(s["status"], "drifted", "{h}");
        assert_eq!(s["resources"], serde_json::json!(["log_group (MODIFIED)"]));
        // Since the first of the two drifted runs, not the last.
        assert!(s["since"].as_str().unwrap() <= s["last_checked"].as_str().unwrap());
        let text = st.run(&["drift", "history"]).ok().stdout;
        assert!(text.contains("log_group (MODIFIED)"), "{text}");
        assert!(text.contains("drifted"), "{text}");
    }
    // Where the records are: beside the state.
    let dir = local.state_dir().join("history/histlocal");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
    let listed = s3
        .list_objects_v2()
        .bucket("drift-history")
        .prefix("fleet/history/histremote/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 3);
    // `drift --all --record`, then --all lists every stack with a history.
    let other = remote.beside("histother");
    other.run(&["apply", "--yes"]).ok();
    remote.run(&["drift", "--all", "--record"]);
    let all = remote
        .run(&["drift", "history", "--all", "--json"])
        .ok()
        .json();
    let suffixes: Vec<&str> = all["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suffix"].as_str().unwrap())
        .collect();
    assert_eq!(suffixes, ["histother", "histremote"]);
    assert_eq!(all["stacks"][0]["status"], "in_sync");
    assert_eq!(all["stacks"][1]["records"], 4);
    // Only the last 100 are kept.
    for i in 0..100 {
        std::fs::write(
            dir.join(format!("2000010{}T000000.{i:03}Z.json", i % 9 + 1)),
            "{}",
        )
        .unwrap();
    }
    local.run(&["drift", "--record"]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 100);
    // 104 records: the 4 oldest went, the 4 real ones stay.
    assert_eq!(names[0], "20000101T000000.036Z.json", "{names:?}");
    assert!(
        names[96..].iter().all(|n| !n.starts_with("2000")),
        "{names:?}"
    );
    for st in [&local, &remote, &other] {
        st.run(&["destroy", "--yes"]).ok();
    }
}

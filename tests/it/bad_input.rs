//! Bad input gets a clear error and loses nothing: bad suffix and options,
//! corrupt or foreign state, a held or stale lock, an AWS error mid-apply.

use crate::common::{sdk, TestStack};
use std::fs;

/// Nothing listens here: a command that made any AWS call would fail with a
/// connection error instead of the expected message.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

#[test]
fn a_bad_suffix_or_option_is_refused_before_any_call() {
    let st = TestStack::new("badinput");
    for (args, message) in [
        (vec!["plan", "--suffix", "Bad_Suffix"], "contains 'B'"),
        (
            vec!["apply", "--yes", "--suffix=-dev"],
            "must start with a lower-case letter or a digit",
        ),
        (
            vec!["plan", "--suffix", &"x".repeat(33)],
            "is 33 characters long; the limit is 32",
        ),
        (
            vec!["destroy", "--yes", "--suffix", ""],
            "the environment suffix is empty",
        ),
        (
            vec!["apply", "--yes", "--parallelism", "0"],
            "--parallelism must be between 1 and 64",
        ),
        (
            vec!["destroy", "--yes", "--kms-deletion-window-days", "6"],
            "between 7 and 30",
        ),
        (
            vec!["plan", "--memory-size", "99999"],
            "--memory-size must be between 128 and 10240",
        ),
        (
            vec!["plan", "--log-retention-days", "31"],
            "--log-retention-days must be one of",
        ),
        (vec!["plan", "--tag", "aws:x=1"], "may not start with aws:"),
    ] {
        let mut cmd = st.command(&[]);
        // Later flags win: the bad suffix replaces the test's own.
        cmd.args(&args).env("AWS_ENDPOINT_URL", DEAD_ENDPOINT);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("dispatch"),
            "{args:?} made a call: {stderr}"
        );
    }
    assert!(!st.state_dir().exists(), "nothing was written");
}

#[test]
fn a_corrupt_unknown_or_foreign_state_is_refused_and_left_untouched() {
    let st = TestStack::new("corrupt");
    fs::create_dir_all(st.state_dir()).unwrap();
    let foreign = serde_json::json!({
        "version": 1, "lineage": "x", "serial": 3, "suffix": "other", "region": "us-east-1",
        "account": "123456789012", "resources": {}
    })
    .to_string();
    let other_account = serde_json::json!({
        "version": 1, "lineage": "x", "serial": 3, "suffix": "corrupt", "region": "us-east-1",
        "account": "999999999999", "resources": {}
    })
    .to_string();
    for (content, message) in [
        (
            "{\"version\": 1, \"resources\": {",
            "is not valid state JSON",
        ),
        ("", "is not valid state JSON"),
        (
            "{\"version\": 7, \"future\": true}",
            "has format version 7; this build understands version 1",
        ),
        (
            foreign.as_str(),
            "belongs to suffix \"other\", not \"corrupt\"",
        ),
        (
            other_account.as_str(),
            "belongs to account \"999999999999\", not \"123456789012\"",
        ),
    ] {
        fs::write(st.state_path(), content).unwrap();
        for cmd in [&["apply", "--yes"][..], &["plan"], &["destroy", "--yes"]] {
            let out = st.run(cmd);
            assert_eq!(out.code, 1, "{cmd:?} {content}: {}", out.stderr);
            assert!(out.stderr.contains(message), "{cmd:?}: {}", out.stderr);
            assert_eq!(
                fs::read_to_string(st.state_path()).unwrap(),
                content,
                "state changed"
            );
        }
    }
    assert!(
        !st.state_dir().join("corrupt.json.lock").exists(),
        "lock released"
    );
}

#[test]
fn a_held_lock_refuses_or_waits_and_a_dead_holders_lock_needs_no_janitor() {
    use std::io::{BufRead, BufReader};
    let st = TestStack::new("locked");
    fs::create_dir_all(st.state_dir()).unwrap();
    let lock = st.state_dir().join("locked.json.lock");
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    // This test process holds the OS lock, as a running apply would.
    let holder = serde_json::json!({"pid": std::process::id(), "host": host,
        "started": "2026-11-29T10:00:00Z", "command": "apply"});
    fs::write(&lock, holder.to_string()).unwrap();
    let held = fs::File::open(&lock).unwrap();
    held.try_lock().unwrap();
    let out = st.run(&["apply", "--yes"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "state is locked by pid {} on {host} since 2026-11-29T10:00:00Z (",
            std::process::id()
        )) && out.stderr.contains("ago) (command: apply)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--lock-timeout"), "{}", out.stderr);
    assert!(lock.exists(), "someone else's lock is not removed");
    let out = st.run(&["force-unlock"]);
    assert_eq!(out.code, 1, "a live holder's lock is not forced");
    assert!(
        out.stderr.contains("held by a running process"),
        "{}",
        out.stderr
    );
    assert!(lock.exists());

    // --lock-timeout waits: the run says it is waiting, and goes on as
    // soon as the holder lets go.
    let mut child = st
        .command(&["apply", "--yes", "--lock-timeout", "5m"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("Waiting for the state lock"), "{line}");
    drop(held);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(!lock.exists(), "released by the run that took it");

    // A lock file whose holder died (no OS lock on it, as `kill -9`
    // leaves it): the next run just takes it.
    let dead = serde_json::json!({"pid": 999_999_999u32, "host": host,
        "started": "2026-11-29T10:00:00Z", "command": "apply"});
    fs::write(&lock, dead.to_string()).unwrap();
    st.run(&["plan"]).ok();
    st.run(&["apply", "--yes"]).ok();
    assert!(!lock.exists());
    fs::write(&lock, dead.to_string()).unwrap();
    let out = st.run(&["force-unlock"]).ok();
    assert!(
        out.stderr.contains("left by pid 999999999 on"),
        "{}",
        out.stderr
    );
    assert!(!lock.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_error_mid_apply_names_the_resource_and_state_keeps_what_exists() {
    let st = TestStack::new("midfail");
    // A log group of this stack's (its tags) whose state was lost, without
    // the key: apply adopts it and must associate the key, which the
    // emulator does not implement (HTTP 500).
    let cfg = sdk().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
    logs.create_log_group()
        .log_group_name(st.names().log_group)
        .tags("ManagedBy", "webhook-stack")
        .tags("Environment", "midfail")
        .tags("Project", "webhook-processor")
        .send()
        .await
        .unwrap();
    let out = st.run(&["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("log_group: failed after"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("AssociateKmsKey failed: HTTP 500"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("role: skipped, because log_group did not complete"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("function: skipped, because log_group did not complete"),
        "{}",
        out.stderr
    );
    let state = st.state();
    let recorded: Vec<&String> = state["resources"].as_object().unwrap().keys().collect();
    assert_eq!(
        recorded,
        ["kms_alias", "kms_key", "table"],
        "what was created is recorded"
    );
    // The rerun picks up from there: nothing created twice.
    let plan = st.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        plan["summary"]["add"], 2,
        "role and function still to create: {plan}"
    );
    let kms = aws_sdk_kms::Client::new(&cfg);
    let key_id = state["resources"]["kms_key"]["id"].as_str().unwrap();
    let key = kms
        .describe_key()
        .key_id(st.names().alias)
        .send()
        .await
        .unwrap();
    assert_eq!(key.key_metadata().unwrap().key_id(), key_id);
}

#[test]
fn usage_errors_exit_1_on_every_command_and_help_and_version_exit_0() {
    let st = TestStack::new("usage");
    // An unknown flag must never read as "drifted" (2) to a cron job.
    for args in [
        vec!["drift", "--jsn"],
        vec!["plan", "--detailed-exitcode", "--memory-size", "abc"],
        vec!["apply", "--yes", "--no-such-flag"],
        vec!["destroy", "--kms-deletion-window-days", "x"],
        vec!["outputs", "extra"],
        vec!["import", "--bogus"],
        vec!["force-unlock", "--bogus"],
        vec!["no-such-command"],
        vec![],
    ] {
        let out = st.run(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.is_empty(), "{args:?} says what is wrong");
    }
    for args in [vec!["--help"], vec!["drift", "--help"], vec!["--version"]] {
        let out = st.run(&args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

/// With no credentials anywhere, the error names the sources looked at and
/// how to set one, in a few lines, not the SDK's debug dump.
#[test]
fn no_credentials_says_where_it_looked_and_what_to_do() {
    let st = TestStack::new("nocreds");
    let out = st
        .command(&["plan"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("HOME", &st.dir)
        .env("AWS_CONFIG_FILE", st.dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", st.dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    assert!(
        stderr.contains("AWS_ACCESS_KEY_ID") && stderr.contains("AWS_PROFILE"),
        "{stderr}"
    );
    assert!(!stderr.contains("DispatchFailure"), "{stderr}");
    assert!(stderr.len() < 1000, "{} characters: {stderr}", stderr.len());
}

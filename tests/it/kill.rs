//! `kill -9` at every point of an apply and of a destroy, then a rerun: the
//! stack converges with no duplicate and no orphan. The kill point is exact:
//! the proxy lets the first k requests through to moto and stops, so the
//! tool is killed having made exactly k calls.

use crate::common::proxy::Proxy;
use crate::common::spec::{check_gone, check_spec, live_keys};
use crate::common::TestStack;
use std::process::Stdio;
use std::time::Duration;

/// Runs `args` through a proxy that stops after `k` requests, then kills the
/// tool with SIGKILL (if it has not finished by itself).
fn run_killed_after(st: &TestStack, args: &[&str], k: usize) {
    let mut proxy = Proxy::start(&["--max-requests", &k.to_string()]);
    let mut child = st
        .command(args)
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if proxy.wait_stopped(Duration::from_millis(5)) || child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    // The killed run leaves its lock file, but the kernel released the OS
    // lock with the process: the rerun needs no force-unlock.
    // (The proxy stopped only once moto had answered every request it
    // forwarded, so nothing the killed run sent is still being processed.)
}

/// How many AWS requests a command makes when nothing interrupts it.
fn requests_of(st: &TestStack, args: &[&str]) -> usize {
    let proxy = Proxy::start(&[]);
    st.run_via(&proxy, args).ok();
    proxy.stats()["requests"].as_u64().unwrap() as usize
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_at_any_point_converges_on_rerun() {
    let total = requests_of(&TestStack::new("kcount"), &["apply", "--yes"]);
    assert!(total >= 20, "an apply makes {total} requests");
    for k in 1..=total {
        let st = TestStack::new(&format!("ka{k}"));
        run_killed_after(&st, &["apply", "--yes"], k);
        let rerun = st.run(&["apply", "--yes"]);
        assert_eq!(rerun.code, 0, "k={k}: {}", rerun.stderr);
        assert_eq!(
            live_keys(&st.suffix).await.len(),
            1,
            "k={k}: exactly one key"
        );
        check_spec(&st.suffix).await;
        let plan = st.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "k={k}: state matches: {}", plan.stdout);
        let drift = st.run(&["drift"]);
        assert_eq!(drift.code, 0, "k={k}: {}", drift.stdout);
        assert!(!st
            .state_dir()
            .join(format!("{}.json.lock", st.suffix))
            .exists());
    }
    eprintln!("apply killed after each of k = 1..={total} requests: all converged");
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_killed_at_any_point_leaves_nothing_on_rerun() {
    let probe = TestStack::new("kdcount");
    probe.run(&["apply", "--yes"]).ok();
    let total = requests_of(&probe, &["destroy", "--yes"]);
    assert!(total >= 15, "a destroy makes {total} requests");
    for k in 1..=total {
        let st = TestStack::new(&format!("kd{k}"));
        st.run(&["apply", "--yes"]).ok();
        run_killed_after(&st, &["destroy", "--yes"], k);
        let rerun = st.run(&["destroy", "--yes"]);
        assert_eq!(rerun.code, 0, "k={k}: {}", rerun.stderr);
        assert_eq!(st.state()["resources"], serde_json::json!({}), "k={k}");
        check_gone(&st.suffix).await;
    }
    eprintln!("destroy killed after each of k = 1..={total} requests: nothing left");
}

#[test]
fn ctrl_c_stops_scheduling_saves_state_and_releases_the_lock() {
    use std::io::{BufRead, BufReader};
    let st = TestStack::new("sigint");
    // Slow AWS, so that the interrupt lands mid-apply.
    let proxy = Proxy::start(&["--latency-ms", "300"]);
    let mut child = st
        .command(&["apply", "--yes", "-v"])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("creating...") {
            break;
        }
        line.clear();
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}");
    assert!(
        seen.contains("Interrupted: finishing the calls in flight"),
        "{seen}"
    );
    assert!(
        seen.contains("Stopped early because of an interrupt"),
        "{seen}"
    );
    assert!(
        !st.state_dir().join("sigint.json.lock").exists(),
        "lock released"
    );
    let state = st.state();
    let recorded = state["resources"].as_object().unwrap().len();
    assert!(
        (1..6).contains(&recorded),
        "in-flight work was saved, the rest not started: {state}"
    );
    st.run(&["apply", "--yes"]).ok();
    st.run(&["plan", "--detailed-exitcode"]).ok();
}

/// Types Ctrl-C on a terminal once the command has printed `wait_for`;
/// returns everything it wrote and how it ended. `env` is added to the
/// tool's usual test environment, without the variables in `unset`.
fn ctrl_c_after(
    st: &TestStack,
    wait_for: &str,
    args: &[&str],
    env: &[(&str, &str)],
    unset: &[&str],
) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = env!("CARGO_BIN_EXE_webhook-stack");
    let mut all = vec![wait_for, exe];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--suffix", &st.suffix]);
    let state_dir = st.state_dir();
    all.extend_from_slice(&["--state-dir", state_dir.to_str().unwrap()]);
    // The environment of the tool's own test runs, for the pty helper.
    let usual = st.command(&[]);
    let inherited = usual
        .get_envs()
        .filter(|(k, _)| !unset.iter().any(|u| k == u))
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())));
    let mut helper = std::process::Command::new(root.join(".venv/bin/python"));
    helper
        .arg(root.join("tests/it/common/ctrl_c.py"))
        .args(&all)
        .envs(inherited)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    for u in unset {
        helper.env_remove(u);
    }
    let out = helper.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{wait_for:?} never came: {text}"
    );
    text
}

/// Ctrl-C at the confirmation prompt, or while the handler builds, ends the
/// run; the kernel releases its lock, so the next run goes ahead at once.
#[test]
fn ctrl_c_at_the_prompt_or_during_the_build_leaves_no_lock_held() {
    let st = TestStack::new("sigprompt");
    let out = ctrl_c_after(&st, "Only 'yes' will be accepted", &["apply"], &[], &[]);
    assert!(out.contains("[ended by signal SIGINT]"), "{out}");
    st.run(&["apply", "--yes"]).ok();

    // A checkout whose handler build takes its time.
    let checkout = st.dir.join("checkout");
    std::fs::create_dir_all(checkout.join("handler/src")).unwrap();
    std::fs::create_dir_all(checkout.join("scripts")).unwrap();
    for file in [
        "handler/Cargo.toml",
        "handler/src/main.rs",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        std::fs::write(checkout.join(file), "").unwrap();
    }
    std::fs::write(
        checkout.join("scripts/build-handler.sh"),
        "echo building the handler >&2\nsleep 600\n",
    )
    .unwrap();
    let handler_dir = checkout.join("handler");
    let out = ctrl_c_after(
        &st,
        "building the handler",
        &["apply", "--yes", "--memory-size", "2048"],
        &[("WEBHOOK_STACK_HANDLER_DIR", handler_dir.to_str().unwrap())],
        &["WEBHOOK_STACK_HANDLER_ZIP"],
    );
    assert!(out.contains("[ended by signal SIGINT]"), "{out}");
    st.run(&["plan", "--detailed-exitcode"]).ok();
    st.run(&["apply", "--yes"]).ok();
}

//! `plan` and `apply` without `--handler-zip` reuse the handler's zip while
//! nothing it is built from has changed, and rebuild (showing the code
//! change) when a source file does. A checkout of its own with a stand-in
//! build script (the arm64 cross build takes minutes) that counts its runs.

use crate::common::TestStack;
use std::path::{Path, PathBuf};

/// A checkout whose `scripts/build-handler.sh` "builds" handler/src/main.rs
/// into an executable and counts its runs in `builds`.
fn checkout(dir: &Path) -> PathBuf {
    let root = dir.join("checkout");
    for d in ["handler/src", "scripts"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("handler/Cargo.toml"), "[package]\nname = \"h\"\n").unwrap();
    std::fs::write(root.join("handler/src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(root.join("Cargo.lock"), "").unwrap();
    std::fs::write(
        root.join("scripts/build-handler.sh"),
        "set -e\ncd \"$(dirname \"$0\")/..\"\necho run >> builds\nmkdir -p out\n\
         cp handler/src/main.rs out/bootstrap\nchmod 755 out/bootstrap\necho \"$PWD/out/bootstrap\"\n",
    )
    .unwrap();
    root
}

fn builds(root: &Path) -> usize {
    std::fs::read_to_string(root.join("builds"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn the_zip_is_reused_until_a_handler_source_changes() {
    let st = TestStack::new("codecache");
    let root = checkout(&st.dir);
    let run = |args: &[&str]| -> crate::common::Output {
        st.command(args)
            .env_remove("WEBHOOK_STACK_HANDLER_ZIP")
            .env("WEBHOOK_STACK_HANDLER_DIR", root.join("handler"))
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap()
            .into()
    };
    // A newcomer's first plan: nothing built yet and no function, so the
    // plan shows everything at once, the code as known after apply.
    let plan = run(&["plan"]).ok();
    assert_eq!(
        builds(&root),
        0,
        "the first plan does not wait for the build"
    );
    assert!(
        plan.stdout.contains("+ code_sha256") && plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("planning without its code"),
        "{}",
        plan.stderr
    );
    // Apply builds, and deploys exactly what it built.
    run(&["apply", "--yes"]).ok();
    assert_eq!(builds(&root), 1);
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert_eq!(builds(&root), 1, "reused: no build for the plan");

    // A new modification time alone changes nothing that is built.
    let main = root.join("handler/src/main.rs");
    let content = std::fs::read(&main).unwrap();
    std::fs::write(&main, &content).unwrap();
    run(&["plan", "--detailed-exitcode"]).ok();
    assert_eq!(builds(&root), 1);

    // An edit rebuilds, and the plan shows the new code.
    std::fs::write(&main, "fn main() { println!(\"v2\"); }\n").unwrap();
    let plan = run(&["plan", "--json"]).ok().json();
    assert_eq!(builds(&root), 2);
    let function = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["resource"] == "function")
        .unwrap()
        .clone();
    assert_eq!(function["action"], "update", "{function}");
    assert_eq!(function["changes"][0]["path"], "code_sha256", "{function}");
    run(&["plan", "--json"]).ok();
    assert_eq!(builds(&root), 2, "the new zip is cached too");
}

/// Regression: apply took the stack's lock before building the handler, so
/// a cold cross build (minutes) held a team's lock all along. The build
/// here waits for the test's go-ahead; meanwhile the lock must be free.
#[test]
fn regression_apply_builds_the_handler_before_taking_the_lock() {
    let st = TestStack::new("buildlock");
    let root = checkout(&st.dir);
    std::fs::write(
        root.join("scripts/build-handler.sh"),
        "set -e\ncd \"$(dirname \"$0\")/..\"\ntouch building\n\
         while [ ! -f go ]; do sleep 0.05; done\nmkdir -p out\n\
         cp handler/src/main.rs out/bootstrap\nchmod 755 out/bootstrap\necho \"$PWD/out/bootstrap\"\n",
    )
    .unwrap();
    let command = |args: &[&str]| {
        let mut c = st.command(args);
        c.env_remove("WEBHOOK_STACK_HANDLER_ZIP")
            .env("WEBHOOK_STACK_HANDLER_DIR", root.join("handler"))
            .env_remove("CARGO_TARGET_DIR");
        c
    };
    let apply = command(&["apply", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !root.join("building").exists() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The build is running: another run takes the lock at once.
    let set: crate::common::Output = command(&["config", "set", "timeout", "60"])
        .output()
        .unwrap()
        .into();
    let set = set.ok();
    assert!(set.stdout.contains("timeout = 60"), "{}", set.stdout);
    std::fs::write(root.join("go"), "").unwrap();
    let applied: crate::common::Output = apply.wait_with_output().unwrap().into();
    applied.ok();
    assert_eq!(
        st.state()["resources"]["function"]["properties"]["timeout"],
        60
    );
    st.run(&["destroy", "--yes"]).ok();
}

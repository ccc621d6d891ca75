//! Where a run's settings come from: the region of an AWS profile, and the
//! state a no-op apply leaves behind.

use crate::common::TestStack;

/// Regions: --region, else the profile's region
/// (from --profile or AWS_PROFILE) in the AWS config file, as the AWS CLI
/// resolves it.
#[test]
fn the_region_comes_from_the_region_flag_then_the_profile_then_the_environment() {
    let st = TestStack::new("region");
    let config = st.dir.join("aws-config");
    std::fs::write(
        &config,
        "[default]\nregion = us-west-2\n\n[profile staging]\nregion = eu-west-1\n",
    )
    .unwrap();
    // The region a plan runs in, with no region in the environment but
    // `env`'s variables.
    let plan_region = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["plan", "--json"];
        all.extend_from_slice(args);
        let out: crate::common::Output = st
            .command(&all)
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", st.dir.join("no-credentials"))
            .envs(env.iter().copied())
            .output()
            .unwrap()
            .into();
        let plan = out.ok().json();
        plan["region"].as_str().unwrap().to_owned()
    };
    assert_eq!(plan_region(&["--profile", "staging"], &[]), "eu-west-1");
    assert_eq!(plan_region(&[], &[("AWS_PROFILE", "staging")]), "eu-west-1");
    assert_eq!(plan_region(&[], &[]), "us-west-2", "the default profile");
    assert_eq!(
        plan_region(&["--profile", "staging", "--region", "ap-south-1"], &[]),
        "ap-south-1",
        "--region wins"
    );
    // A profile chosen on purpose wins over an AWS_REGION left in the
    // environment (the profile first); without one, AWS_REGION is used.
    let env_region = [("AWS_REGION", "sa-east-1")];
    assert_eq!(
        plan_region(&["--profile", "staging"], &env_region),
        "eu-west-1"
    );
    assert_eq!(plan_region(&[], &env_region), "sa-east-1");
}

/// A no-op apply leaves no drift: when live values already equal the
/// program but state holds older ones, apply records the live values.
#[test]
fn a_no_op_apply_records_live_values_so_drift_agrees() {
    let st = TestStack::new("noopstate");
    st.run(&["apply", "--yes"]).ok();
    // State that remembers an older memory size (e.g. written by an older
    // version, or an apply whose last save was lost), while AWS already has
    // the program's value.
    let mut state = st.state();
    state["resources"]["function"]["properties"]["memory_size"] = 512.into();
    std::fs::write(st.state_path(), state.to_string()).unwrap();
    let drift = st.run(&["drift"]);
    assert_eq!(drift.code, 2, "{}", drift.stdout);

    let apply = st.run(&["apply", "--yes", "--json"]).ok().json();
    assert_eq!(apply["summary"]["change"], 0, "no AWS change: {apply}");
    assert_eq!(crate::common::writes(&apply), Vec::<String>::new());
    assert_eq!(
        st.state()["resources"]["function"]["properties"]["memory_size"],
        1024
    );
    st.run(&["drift"]).ok();
    // And a second no-op apply writes nothing more.
    let serial = st.state()["serial"].clone();
    let again = st.run(&["apply", "--yes"]).ok();
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    assert!(!again.stdout.contains("State updated"), "{}", again.stdout);
    assert_eq!(st.state()["serial"], serial);
}

/// a flag given to `plan` is for that plan only; given to `apply`
/// it is saved when the apply succeeds; `config` edits the saved values,
/// refusing bad ones with a clear message and without touching the state.
#[test]
fn plan_flags_are_for_one_plan_apply_flags_are_saved_and_config_checks_its_values() {
    let st = TestStack::new("settings");
    let out = st.run(&["config"]).ok();
    assert!(
        out.stdout.contains("memory_size           1024  (default)"),
        "{}",
        out.stdout
    );
    let out = st.run(&["plan", "--memory-size", "2048"]).ok();
    assert!(
        out.stdout.contains("memory_size = 2048 (flag)"),
        "{}",
        out.stdout
    );
    assert!(!st.state_path().exists(), "a plan saves nothing");
    st.run(&[
        "apply",
        "--yes",
        "--memory-size",
        "2048",
        "--tag",
        "team=payments",
    ])
    .ok();
    assert_eq!(
        st.run(&["config", "get", "memory_size"]).ok().stdout,
        "2048\n"
    );
    assert_eq!(
        st.run(&["config", "get", "tags.team"]).ok().stdout,
        "payments\n"
    );
    let out = st.run(&["plan", "--detailed-exitcode"]).ok();
    assert!(
        out.stdout
            .contains("Settings: memory_size = 2048 (saved), tags.team = \"payments\" (saved); the rest default."),
        "{}",
        out.stdout
    );

    let state = std::fs::read(st.state_path()).unwrap();
    for (args, message) in [
        (
            &["config", "set", "memory_size", "lots"][..],
            "memory_size must be a whole number, not \"lots\"",
        ),
        (
            &["config", "set", "memory_size", "99999"],
            "--memory-size must be between 128 and 10240, not 99999",
        ),
        (
            &["config", "set", "colour", "red"],
            "unknown setting \"colour\"",
        ),
        (
            &["config", "set", "tags.Environment", "x"],
            "--tag Environment: this tag is set by the stack",
        ),
        (
            &["config", "get", "alarm_topic_arn"],
            "alarm_topic_arn is not set and has no default",
        ),
        (
            &["config", "unset", "nonsense"],
            "unknown setting \"nonsense\"",
        ),
        (
            &["plan", "--memory-size", "64"],
            "--memory-size must be between 128 and 10240, not 64",
        ),
        (
            &["state", "show", "nothing"],
            "nothing is not in the state of stack settings",
        ),
    ] {
        let out = st.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert_eq!(
            std::fs::read(st.state_path()).unwrap(),
            state,
            "{args:?} left state as it was"
        );
    }

    let elsewhere = TestStack::with_backend("settings", "ftp://x");
    let out = elsewhere.run(&["plan"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--backend \"ftp://x\": expected file://DIR or s3://BUCKET/PREFIX"),
        "{}",
        out.stderr
    );

    // Unset: the default applies again, and the next apply puts it back.
    st.run(&["config", "unset", "memory_size"]).ok();
    let out = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("memory_size = 2048 -> 1024"),
        "{}",
        out.stdout
    );
    let list = st.run(&["state", "list"]).ok();
    assert!(list.stdout.contains("function"), "{}", list.stdout);
    st.run(&["destroy", "--yes"]).ok();
}

//! Where a run's settings come from: the region of an AWS profile, and the
//! state a no-op apply leaves behind.

mod common;

use common::TestStack;

/// SPEC §2 "Regions and credentials": --region, else the profile's region
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
        let out: common::Output = st
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
    // environment (SPEC's order); without one, AWS_REGION is used.
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
    assert_eq!(common::writes(&apply), Vec::<String>::new());
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

//! Saved plans, and adopting a stack that exists without (our) state.

use crate::common::{writes, TestStack};

#[test]
fn a_saved_plan_is_applied_as_reviewed_and_refused_once_stale() {
    let st = TestStack::new("saved");
    let plan_file = st.dir.join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    let out = st.run(&["plan", "--out", plan_arg]).ok();
    assert!(out.stdout.contains("Saved the plan to"), "{}", out.stdout);
    let applied = st.run(&["apply", plan_arg]).ok();
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 6 added"),
        "{}",
        applied.stdout
    );

    // The plan's settings travel with it.
    st.run(&["plan", "--memory-size", "2048", "--out", plan_arg])
        .ok();
    let tuned = st.run(&["apply", plan_arg, "--json"]).ok().json();
    assert_eq!(writes(&tuned), ["Lambda:UpdateFunctionConfiguration=1"]);
    st.run(&["plan", "--memory-size", "2048", "--detailed-exitcode"])
        .ok();

    // A plan made, then overtaken by another apply: refused, state untouched.
    st.run(&["plan", "--memory-size", "2048", "--out", plan_arg])
        .ok();
    st.run(&["apply", "--yes", "--timeout", "60"]).ok();
    let before = std::fs::read(st.state_path()).unwrap();
    let stale = st.run(&["apply", plan_arg]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("the saved plan is stale"),
        "{}",
        stale.stderr
    );
    assert_eq!(std::fs::read(st.state_path()).unwrap(), before);

    // A plan whose live resources changed since (same state serial).
    st.run(&["plan", "--out", plan_arg]).ok();
    let zip2 = crate::common::handler_zip(&st.dir, "v2");
    let mut cmd = st.command(&["apply", plan_arg]);
    cmd.env("WEBHOOK_STACK_HANDLER_ZIP", &zip2);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the saved plan is stale"));
}

#[test]
fn import_adopts_a_stack_without_state_and_changes_nothing() {
    let st = TestStack::new("adopt");
    st.run(&["apply", "--yes"]).ok();
    let state = st.state();
    // As if the stack had been deployed by another tool: no state here.
    std::fs::remove_file(st.state_path()).unwrap();
    std::fs::remove_file(st.state_dir().join("adopt.json.backup")).unwrap();

    let plan = st.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["summary"]["import"], 6, "{plan}");
    assert_eq!(
        plan["summary"]["add"], 0,
        "nothing is created twice: {plan}"
    );

    let imported = st.run(&["import", "--json"]).ok().json();
    assert_eq!(
        imported["imported"].as_array().unwrap().len(),
        6,
        "{imported}"
    );
    assert_eq!(
        writes(&imported),
        Vec::<String>::new(),
        "import changes nothing in AWS"
    );
    let adopted = st.state();
    for r in [
        "kms_key",
        "kms_alias",
        "log_group",
        "table",
        "role",
        "function",
    ] {
        assert_eq!(
            adopted["resources"][r]["id"], state["resources"][r]["id"],
            "{r}"
        );
        assert_eq!(
            adopted["resources"][r]["outputs"], state["resources"][r]["outputs"],
            "{r}"
        );
    }
    st.run(&["plan", "--detailed-exitcode"]).ok();
    let noop = st.run(&["apply", "--yes", "--json"]).ok().json();
    assert_eq!(noop["aws_calls"]["writes"], 0);
    let again = st.run(&["import"]).ok();
    assert!(
        again
            .stdout
            .contains("Imported 0 resource(s); 6 already in state."),
        "{}",
        again.stdout
    );
}

#[test]
fn a_hand_edited_saved_plan_is_checked_like_the_flags() {
    let st = TestStack::new("editedplan");
    st.run(&["apply", "--yes"]).ok();
    let plan_file = st.dir.join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    st.run(&["plan", "--memory-size", "2048", "--out", plan_arg])
        .ok();
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    let state_before = std::fs::read(st.state_path()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit, &str); 4] = [
        (
            "memory",
            |p| p["plan"]["settings"]["memory_size"]["value"] = 99_999.into(),
            "--memory-size must be between 128 and 10240, not 99999",
        ),
        (
            "tag",
            |p| {
                p["plan"]["settings"]["tags.ManagedBy"] =
                    serde_json::json!({"value": "someone-else", "source": "flag"})
            },
            "--tag ManagedBy: this tag is set by the stack",
        ),
        (
            "replace",
            |p| p["plan"]["replace"] = serde_json::json!(["everything"]),
            "--replace \"everything\": no such resource",
        ),
        (
            // Steps edited to drop a tag: they no longer match what the
            // settings give, so the plan is refused as not what was made.
            "steps",
            |p| {
                let steps = p["plan"]["steps"].as_array_mut().unwrap();
                steps.push(serde_json::json!({"resource": "function",
                    "type": "aws:lambda/function", "action": "update",
                    "changes": [{"path": "tags.ManagedBy", "before": "webhook-stack"}]}));
            },
            "the saved plan is stale",
        ),
    ];
    for (name, edit, message) in edits {
        let mut p = saved.clone();
        edit(&mut p);
        std::fs::write(&plan_file, p.to_string()).unwrap();
        let out = st.run(&["apply", plan_arg]);
        assert_eq!(out.code, 1, "{name}: {}", out.stdout);
        assert!(out.stderr.contains(message), "{name}: {}", out.stderr);
        assert_eq!(
            std::fs::read(st.state_path()).unwrap(),
            state_before,
            "{name}: state untouched"
        );
    }
    st.run(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn the_handler_is_found_at_run_time_or_the_binary_says_what_it_needs() {
    let st = TestStack::new("nohandler");
    // Run from outside any checkout, without a zip: nothing to build.
    let out = st
        .command(&["plan"])
        .env_remove("WEBHOOK_STACK_HANDLER_ZIP")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .current_dir(&st.dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no handler/ to build"), "{stderr}");
    assert!(
        stderr.contains("--handler-zip PATH") && stderr.contains("--handler-dir DIR"),
        "{stderr}"
    );
    let out = st
        .command(&["plan", "--handler-dir", st.dir.to_str().unwrap()])
        .env_remove("WEBHOOK_STACK_HANDLER_ZIP")
        .current_dir(&st.dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not the handler/ crate of a webhook-stack checkout"),
        "{stderr}"
    );
}

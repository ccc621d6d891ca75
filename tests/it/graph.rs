//! `graph`: the dependency graph as DOT or Mermaid, from the program alone
//! (no AWS call), and with a saved plan's actions on its nodes.

use crate::common::TestStack;

/// The design's edges (the design's "Dependencies"), as Mermaid arrows.
const EDGES: [&str; 9] = [
    "kms_key --> kms_alias",
    "kms_key --> log_group",
    "kms_key --> role",
    "table --> role",
    "log_group --> role",
    "kms_key --> function",
    "role --> function",
    "log_group --> function",
    "table --> function",
];

#[test]
fn the_graph_is_drawn_from_the_program_without_any_aws_call() {
    let st = TestStack::new("graph");
    let run = |args: &[&str]| {
        let out: crate::common::Output = st
            .command(args)
            // Nothing listens here: any AWS call would fail the command.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .output()
            .unwrap()
            .into();
        out.ok().stdout
    };
    let mermaid = run(&["graph", "--format", "mermaid"]);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    for edge in EDGES {
        assert!(
            mermaid.contains(&format!("    {edge}\n")),
            "{edge}: {mermaid}"
        );
    }
    assert_eq!(mermaid.matches(" --> ").count(), EDGES.len(), "{mermaid}");
    let dot = run(&["graph"]);
    assert!(dot.starts_with("digraph {"), "{dot}");
    assert!(
        dot.contains(r#"label = "function\naws:lambda/function""#),
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), EDGES.len(), "{dot}");
}

#[test]
fn with_a_saved_plan_each_node_shows_its_action() {
    let st = TestStack::new("graphplan");
    st.run(&["apply", "--yes"]).ok();
    let plan_file = st.dir.join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    st.run(&["plan", "--memory-size", "2048", "--out", plan_arg])
        .ok();
    let out = st.run(&["graph", "--format", "mermaid", plan_arg]).ok();
    assert!(
        out.stdout
            .contains(r#"function["~ function<br/>aws:lambda/function<br/>update"]"#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r#"table["table<br/>aws:dynamodb/table<br/>no change"]"#),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("class function c0"), "{}", out.stdout);
    let dot = st.run(&["graph", plan_arg]).ok();
    assert!(
        dot.stdout
            .contains(r##"style = filled, fillcolor = "#fff3cd""##),
        "{}",
        dot.stdout
    );
}

#[test]
fn completions_are_printed_for_each_shell_and_colour_can_be_forced() {
    let st = TestStack::new("completions");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = st.run(&["completions", shell]).ok();
        assert!(out.stdout.contains("webhook-stack"), "{shell}");
        assert!(
            out.stdout.contains("drift"),
            "{shell}: subcommands are completed"
        );
    }
    assert_eq!(st.run(&["completions", "tcsh"]).code, 1);
    // Colour off when stdout is not a terminal, on when asked for.
    st.run(&["apply", "--yes"]).ok();
    let plain = st.run(&["plan", "--memory-size", "2048"]).ok();
    assert!(!plain.stdout.contains('\u{1b}'), "{}", plain.stdout);
    let coloured = st
        .command(&["plan", "--memory-size", "2048", "--color", "always"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\u{1b}[33m~"));
}

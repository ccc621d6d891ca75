//! Human-readable plans and summaries. JSON forms are the types' `Serialize`.

use crate::engine::diff::PropertyChange;
use crate::engine::plan::{Action, Plan, Step, Summary};
use serde_json::Value;
use std::fmt::Write;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn symbol(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("+", "32"),
        Action::Update => ("~", "33"),
        Action::Replace => ("-/+", "35"),
        Action::Delete => ("-", "31"),
        Action::Noop => (" ", "0"),
    }
}

/// Whether `v` is a policy document in the canonical form (statements keyed
/// by Sid, or by a content hash when they have none).
fn canonical_policy(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    let statements = v.get("Statement")?.as_object()?;
    statements
        .values()
        .all(|s| s.get("Effect").is_some())
        .then_some(statements)
}

/// Policy documents back in AWS's own form, a `Statement` array, wherever
/// they are in `v` (a key policy, a role's inline policies).
fn aws_form(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, child) in m {
                let child = match (k.as_str(), canonical_policy(v)) {
                    ("Statement", Some(statements)) => {
                        Value::Array(statements.values().cloned().collect())
                    }
                    _ => aws_form(child),
                };
                out.insert(k.clone(), child);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A change's path as a reader knows it: a statement is named by its Sid
/// (`Statement[Sid=WriteLogs].Action`), never by the content hash that keys
/// an unnamed one internally (`Statement[no Sid]`).
fn display_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        if parts[i] == "Statement" && i + 1 < parts.len() {
            let key = parts[i + 1];
            out.push(if key.starts_with("statement-") {
                "Statement[no Sid]".to_owned()
            } else {
                format!("Statement[Sid={key}]")
            });
            i += 2;
        } else {
            out.push(parts[i].to_owned());
            i += 1;
        }
    }
    out.join(".")
}

/// A value as in a plan: JSON, with multi-line documents indented, and
/// policy documents in AWS's form.
fn value(v: &Value, indent: usize) -> String {
    let v = &aws_form(v);
    match v {
        Value::Object(_) | Value::Array(_) if v.to_string().len() > 60 => {
            let pretty = serde_json::to_string_pretty(v).expect("JSON value");
            let pad = " ".repeat(indent);
            pretty.lines().collect::<Vec<_>>().join(&format!("\n{pad}"))
        }
        _ => v.to_string(),
    }
}

fn change_line(out: &mut String, style: Style, c: &PropertyChange, width: usize) {
    let indent = 8 + width + 3;
    let path = display_path(&c.path);
    let (sym, code, body) = match (&c.before, &c.after) {
        (None, Some(a)) => ("+", "32", value(a, indent)),
        (Some(b), None) => ("-", "31", format!("{} -> null", value(b, indent))),
        (Some(b), Some(a)) => (
            "~",
            "33",
            format!("{} -> {}", value(b, indent), value(a, indent)),
        ),
        (None, None) => return,
    };
    let forces = if c.forces_replacement {
        style.paint("31", " # forces replacement")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "      {} {:<width$} = {body}{forces}",
        style.paint(code, sym),
        path
    );
}

fn headline(step: &Step, replace: &[String]) -> String {
    let id = step
        .id
        .as_deref()
        .map(|i| format!(" {i}"))
        .unwrap_or_default();
    let what = match (step.adopt, step.action) {
        (false, Action::Create) => "will be created",
        (false, Action::Update) => "will be updated in place",
        (false, Action::Replace) => "must be replaced",
        (_, Action::Delete) => "will be destroyed",
        (false, Action::Noop) => "has no changes",
        (true, Action::Noop | Action::Create) => "exists but is not in state: it will be adopted",
        (true, Action::Update) => {
            "exists but is not in state: it will be adopted and updated in place"
        }
        (true, Action::Replace) => "exists but is not in state: it will be adopted and replaced",
    };
    let requested = if step.action == Action::Replace && replace.contains(&step.resource) {
        " (--replace)"
    } else {
        ""
    };
    format!("{} ({}){id} {what}{requested}", step.resource, step.kind)
}

pub fn plan_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let shown: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.action != Action::Noop || s.adopt)
        .collect();
    if shown.is_empty() {
        out.push_str("No changes. The stack matches the program.\n\n");
    } else {
        let _ = writeln!(
            out,
            "Stack {} in {} (account {}) will change as follows:\n",
            plan.suffix, plan.region, plan.account
        );
        for step in shown {
            let (sym, code) = symbol(step.action);
            let _ = writeln!(
                out,
                "  {} {}",
                style.paint(code, sym),
                headline(step, &plan.replace)
            );
            // Creations list what will be set; deletions only name the resource.
            if step.action != Action::Delete {
                let width = step
                    .changes
                    .iter()
                    .map(|c| display_path(&c.path).len())
                    .max()
                    .unwrap_or(0);
                for c in &step.changes {
                    change_line(&mut out, style, c, width);
                }
            }
            out.push('\n');
        }
    }
    for step in plan.unsafe_steps(&crate::providers::Registry) {
        let _ = writeln!(
            out,
            "{} {} would be {}, which deletes {}: apply refuses this unless run with --replace {}.\n",
            style.paint("31", "Warning:"),
            step.resource,
            if step.action == Action::Delete { "deleted" } else { "replaced" },
            crate::engine::model::Schema::loses(&crate::providers::Registry, step.kind).unwrap_or("what it holds"),
            step.resource
        );
    }
    if plan.summary.import > 0 {
        let _ = writeln!(
            out,
            "Import: {} existing resource(s) will be adopted into state.",
            plan.summary.import
        );
    }
    if !plan.settings.is_empty() {
        out.push_str(&settings_line(plan));
    }
    out.push_str(&summary_line(&plan.summary));
    out.push('\n');
    out
}

/// The settings a plan used that are not defaults, with their source.
fn settings_line(plan: &Plan) -> String {
    use crate::engine::plan::Source;
    let set: Vec<String> = plan
        .settings
        .iter()
        .filter(|(_, u)| u.source != Source::Default)
        .map(|(k, u)| {
            let source = if u.source == Source::Flag {
                "flag"
            } else {
                "saved"
            };
            format!("{k} = {} ({source})", u.value)
        })
        .collect();
    if set.is_empty() {
        "Settings: all defaults.\n".into()
    } else {
        format!("Settings: {}; the rest default.\n", set.join(", "))
    }
}

pub fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
        s.add, s.change, s.replace, s.destroy
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::PLAN_FORMAT_VERSION;
    use crate::providers::{function, role, table};
    use serde_json::json;

    fn plan(steps: Vec<Step>, summary: Summary) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            suffix: "dev".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            state_lineage: None,
            state_serial: None,
            steps,
            summary,
            replace: vec![],
            destroy: false,
            settings: Default::default(),
        }
    }

    #[test]
    fn renders_updates_replacements_and_the_summary() {
        let p = plan(
            vec![
                Step {
                    resource: "function".into(),
                    kind: function::KIND,
                    action: Action::Update,
                    id: Some("webhook-processor-dev".into()),
                    adopt: false,
                    changes: vec![PropertyChange {
                        path: "memory_size".into(),
                        before: Some(json!(1024)),
                        after: Some(json!(2048)),
                        forces_replacement: false,
                    }],
                },
                Step {
                    resource: "table".into(),
                    kind: table::KIND,
                    action: Action::Replace,
                    id: Some("transactions-dev".into()),
                    adopt: false,
                    changes: vec![PropertyChange {
                        path: "partition_key.name".into(),
                        before: Some(json!("transactionId")),
                        after: Some(json!("id")),
                        forces_replacement: true,
                    }],
                },
            ],
            Summary {
                change: 1,
                replace: 1,
                ..Default::default()
            },
        );
        let text = plan_text(&p, Style { color: false });
        assert_eq!(
            text,
            "Stack dev in us-east-1 (account 123456789012) will change as follows:\n\n\
             \x20 ~ function (aws:lambda/function) webhook-processor-dev will be updated in place\n\
             \x20     ~ memory_size = 1024 -> 2048\n\n\
             \x20 -/+ table (aws:dynamodb/table) transactions-dev must be replaced\n\
             \x20     ~ partition_key.name = \"transactionId\" -> \"id\" # forces replacement\n\n\
             Warning: table would be replaced, which deletes every item it holds: apply refuses this unless run with --replace table.\n\n\
             Plan: 0 to add, 1 to change, 1 to replace, 0 to destroy.\n"
        );
    }

    #[test]
    fn policies_read_as_aws_writes_them_with_each_changed_statement_named() {
        let doc = json!({"Version": "2012-10-17", "Statement": {
            "WriteLogs": {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": ["*"]},
            "statement-cfc068c1": {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}}});
        let shown = aws_form(&json!({"inline_policies": {"p": doc}}));
        let statements = shown["inline_policies"]["p"]["Statement"]
            .as_array()
            .unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Sid"], "WriteLogs");
        assert_eq!(
            display_path("inline_policies.p.Statement.WriteLogs.Action"),
            "inline_policies.p.Statement[Sid=WriteLogs].Action"
        );
        assert_eq!(
            display_path("policy.Statement.statement-cfc068c1"),
            "policy.Statement[no Sid]"
        );
        let p = plan(
            vec![Step {
                resource: "role".into(),
                kind: role::KIND,
                action: Action::Update,
                id: Some("r".into()),
                adopt: false,
                changes: vec![PropertyChange {
                    path: "inline_policies.p.Statement.statement-cfc068c1".into(),
                    before: Some(doc["Statement"]["statement-cfc068c1"].clone()),
                    after: None,
                    forces_replacement: false,
                }],
            }],
            Summary {
                change: 1,
                ..Default::default()
            },
        );
        let text = plan_text(&p, Style { color: false });
        assert!(
            text.contains("- inline_policies.p.Statement[no Sid] = {"),
            "{text}"
        );
        assert!(!text.contains("statement-cfc068c1"), "{text}");
    }

    #[test]
    fn a_converged_plan_says_so() {
        let text = plan_text(&plan(vec![], Summary::default()), Style { color: false });
        assert_eq!(
            text,
            "No changes. The stack matches the program.\n\nPlan: 0 to add, 0 to change, 0 to replace, 0 to destroy.\n"
        );
    }
}

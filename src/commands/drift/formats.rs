//! Drift reports as CI reads them natively: JUnit XML (a test suite per
//! stack, a test case per resource, a failure per drifted property, an error
//! for a stack that could not be checked) and Markdown (a table for a job
//! summary or a pull-request comment).

use super::{status_word, Checked, StackDrift};
use crate::engine::drift::Status;
use serde_json::Value;
use std::fmt::Write;

/// Escapes text for an XML attribute or element.
pub(super) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

pub(super) fn shown(v: &Value) -> String {
    match v {
        Value::Null => "(absent)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn suite(out: &mut String, checked_at: &str, stack: &Checked) {
    match stack {
        Checked::Failed { suffix, error } => {
            let _ = write!(
                out,
                "  <testsuite name=\"stack {s}\" tests=\"1\" failures=\"0\" errors=\"1\" timestamp=\"{t}\">\n    \
                 <testcase classname=\"{s}\" name=\"check\">\n      \
                 <error message=\"{m}\" type=\"check_failed\">{m}</error>\n    </testcase>\n  </testsuite>\n",
                s = xml(suffix),
                t = xml(checked_at),
                m = xml(error)
            );
        }
        Checked::Drift(d) => drifted_suite(out, checked_at, d),
    }
}

fn drifted_suite(out: &mut String, checked_at: &str, d: &StackDrift) {
    let failures = d
        .resources
        .iter()
        .filter(|r| r.status != Status::InSync)
        .count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"stack {s}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" timestamp=\"{t}\">",
        s = xml(&d.suffix),
        n = d.resources.len(),
        t = xml(checked_at)
    );
    let _ = writeln!(
        out,
        "    <properties>\n      <property name=\"region\" value=\"{}\"/>\n      \
         <property name=\"account\" value=\"{}\"/>\n      <property name=\"state_serial\" value=\"{}\"/>\n    </properties>",
        xml(&d.region),
        xml(&d.account),
        d.state_serial
    );
    for r in &d.resources {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{} ({} {})\"",
            xml(&d.suffix),
            xml(&r.resource),
            xml(r.kind.token()),
            xml(&r.id)
        );
        match r.status {
            Status::InSync => out.push_str("/>\n"),
            Status::Deleted => {
                let _ = write!(
                    out,
                    ">\n      <failure message=\"{0} is DELETED\" type=\"DELETED\">{0} no longer exists in AWS</failure>\n    </testcase>\n",
                    xml(&r.resource)
                );
            }
            Status::Modified => {
                out.push_str(">\n");
                for p in &r.drifted_properties {
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{path}: expected {e}, actual {a}\" type=\"MODIFIED\">{path}\nexpected: {e}\nactual: {a}</failure>",
                        path = xml(&p.path),
                        e = xml(&shown(&p.expected)),
                        a = xml(&shown(&p.actual))
                    );
                }
                out.push_str("    </testcase>\n");
            }
        }
    }
    out.push_str("  </testsuite>\n");
}

/// JUnit XML for the stacks checked.
pub fn junit(checked_at: &str, stacks: &[Checked]) -> String {
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for s in stacks {
        match s {
            Checked::Failed { .. } => {
                tests += 1;
                errors += 1;
            }
            Checked::Drift(d) => {
                tests += d.resources.len();
                failures += d
                    .resources
                    .iter()
                    .filter(|r| r.status != Status::InSync)
                    .count();
            }
        }
    }
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"webhook-stack drift\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" timestamp=\"{}\">\n",
        xml(checked_at)
    );
    for s in stacks {
        suite(&mut out, checked_at, s);
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown report: a summary line per stack, then a table of what
/// drifted (every resource in sync: said in one line).
pub fn markdown(checked_at: &str, stacks: &[Checked]) -> String {
    let mut out = format!("## Drift check, {checked_at}\n\n");
    out.push_str("| stack | result |\n|---|---|\n");
    for s in stacks {
        let _ = match s {
            Checked::Failed { suffix, error } => writeln!(
                out,
                "| `{}` | ❌ could not be checked: {} |",
                cell(suffix),
                cell(error)
            ),
            Checked::Drift(d) if d.drifted => writeln!(
                out,
                "| `{}` | ⚠️ drifted: {} modified, {} deleted, {} in sync |",
                cell(&d.suffix),
                d.summary.modified,
                d.summary.deleted,
                d.summary.in_sync
            ),
            Checked::Drift(d) => writeln!(
                out,
                "| `{}` | ✅ in sync ({} resources) |",
                cell(&d.suffix),
                d.summary.in_sync
            ),
        };
    }
    for s in stacks {
        let Checked::Drift(d) = s else { continue };
        if !d.drifted {
            continue;
        }
        let _ = write!(
            out,
            "\n### Stack `{}` ({}, account {})\n\n| resource | type | id | status | property | expected | actual |\n|---|---|---|---|---|---|---|\n",
            cell(&d.suffix),
            cell(&d.region),
            cell(&d.account)
        );
        for r in d.resources.iter().filter(|r| r.status != Status::InSync) {
            let head = format!(
                "| {} | {} | `{}` | {} ",
                cell(&r.resource),
                r.kind.token(),
                cell(&r.id),
                status_word(r.status)
            );
            if r.drifted_properties.is_empty() {
                let _ = writeln!(out, "{head}| | | |");
            }
            for p in &r.drifted_properties {
                let _ = writeln!(
                    out,
                    "{head}| `{}` | `{}` | `{}` |",
                    cell(&p.path),
                    cell(&shown(&p.expected)),
                    cell(&shown(&p.actual))
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}

//! `drift --html FILE`: the report as one self-contained page (no network):
//! a grid of stacks by resources, each cell coloured in sync, modified,
//! deleted or error, a modified cell opening its drifted properties, and a
//! filter that keeps the stacks that drifted or could not be checked.

use super::formats::{shown, xml};
use super::{status_word, Checked};
use crate::engine::drift::Status;
use std::fmt::Write;

const STYLE: &str = "
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .3em}
p.summary{margin:.2em 0 1em;color:#444}
table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th.resource{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:normal}
td.cell{min-width:4.5em;font-size:12px}
.in_sync{background:#d9f2d9}.modified{background:#ffe08a}.deleted{background:#f7a8a8}
.error{background:#c9c9c9}.absent{background:#fff;color:#aaa}
details summary{cursor:pointer}
ul{margin:.3em 0 0 1em;padding:0}
label{display:inline-block;margin-bottom:.8em}
tr[hidden]{display:none}
";

/// Resolved once the page is built: how long it took (`data-rendered`, in
/// ms) and any script error (`data-errors`), for tests and the curious.
const SCRIPT: &str = "
document.body.dataset.errors='';
window.addEventListener('error',e=>{document.body.dataset.errors+=e.message+';'});
const box=document.getElementById('drifted-only');
function filter(){for(const r of document.querySelectorAll('tr.stack')){r.hidden=box.checked&&r.dataset.status==='in_sync'}}
box.addEventListener('change',filter);
if(location.hash==='#drifted'){box.checked=true}
filter();
document.body.dataset.rendered=performance.now().toFixed(0);
";

fn class(status: Status) -> &'static str {
    match status {
        Status::InSync => "in_sync",
        Status::Modified => "modified",
        Status::Deleted => "deleted",
    }
}

/// The page for `stacks`, checked at `checked_at`.
pub fn page(checked_at: &str, stacks: &[Checked]) -> String {
    // Columns: every resource any stack has, in the order first met.
    let mut columns: Vec<&str> = Vec::new();
    for s in stacks {
        if let Checked::Drift(d) = s {
            for r in &d.resources {
                if !columns.contains(&r.resource.as_str()) {
                    columns.push(&r.resource);
                }
            }
        }
    }
    let (mut drifted, mut failed) = (0, 0);
    let mut rows = String::new();
    for s in stacks {
        match s {
            Checked::Failed { suffix, error } => {
                failed += 1;
                let _ = writeln!(
                    rows,
                    "<tr class=\"stack\" data-stack=\"{}\" data-status=\"error\"><th>{}</th>\
                     <td class=\"cell error\" data-status=\"error\" colspan=\"{}\">could not be checked: {}</td></tr>",
                    xml(suffix),
                    xml(suffix),
                    columns.len().max(1),
                    xml(error)
                );
            }
            Checked::Drift(d) => {
                drifted += usize::from(d.drifted);
                let status = if d.drifted { "drifted" } else { "in_sync" };
                let _ = write!(
                    rows,
                    "<tr class=\"stack\" data-stack=\"{}\" data-status=\"{status}\"><th>{}</th>",
                    xml(&d.suffix),
                    xml(&d.suffix)
                );
                for column in &columns {
                    let Some(r) = d.resources.iter().find(|r| r.resource == *column) else {
                        rows.push_str("<td class=\"cell absent\" data-status=\"absent\">—</td>");
                        continue;
                    };
                    let word = status_word(r.status);
                    let _ = write!(
                        rows,
                        "<td class=\"cell {}\" data-status=\"{}\" data-resource=\"{}\" title=\"{} {}\">",
                        class(r.status),
                        class(r.status),
                        xml(column),
                        xml(r.kind.token()),
                        xml(&r.id)
                    );
                    if r.drifted_properties.is_empty() {
                        rows.push_str(word);
                    } else {
                        let _ = write!(rows, "<details><summary>{word}</summary><ul>");
                        for p in &r.drifted_properties {
                            let _ = write!(
                                rows,
                                "<li><code>{}</code>: expected <code>{}</code>, actual <code>{}</code></li>",
                                xml(&p.path),
                                xml(&shown(&p.expected)),
                                xml(&shown(&p.actual))
                            );
                        }
                        rows.push_str("</ul></details>");
                    }
                    rows.push_str("</td>");
                }
                rows.push_str("</tr>\n");
            }
        }
    }
    let mut head = String::new();
    for c in &columns {
        let _ = write!(head, "<th class=\"resource\">{}</th>", xml(c));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Drift {checked_at}</title><style>{STYLE}</style></head>\n<body>\
         <h1>Drift of {} stack(s)</h1>\
         <p class=\"summary\">Checked at {}: {} drifted, {} could not be checked, {} in sync.</p>\
         <label><input type=\"checkbox\" id=\"drifted-only\"> drifted or failed only</label>\
         <table><thead><tr><th>stack</th>{head}</tr></thead><tbody>\n{rows}</tbody></table>\
         <script>{SCRIPT}</script></body></html>\n",
        stacks.len(),
        xml(checked_at),
        drifted,
        failed,
        stacks.len() - drifted - failed,
    )
}

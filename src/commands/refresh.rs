//! `refresh [RESOURCE...]`: accept drift. Records what is live into state
//! (Pulumi's `refresh`, `terraform apply -refresh-only`), with no AWS
//! write; `--settings` also saves a drifted value that a stack setting
//! carries as that setting, so that the next plan converges too.

use super::printer::{confirm, emit};
use super::session::Session;
use super::ExitStatus;
use crate::config::Config;
use crate::engine::drift::{detect, Status};
use crate::engine::model::Observed;
use crate::settings::{self, Form, SETTINGS, TAG_PREFIX};
use crate::stack::{SettingsFrom, Stack};
use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Serialize)]
struct Change {
    path: String,
    recorded: Value,
    live: Value,
    /// The setting it was saved as (`--settings`); `None`: the next plan
    /// reverts it.
    setting: Option<String>,
}

#[derive(Serialize)]
struct Refreshed {
    resource: String,
    status: Status,
    changes: Vec<Change>,
}

#[derive(Serialize)]
struct RefreshReport {
    resources: Vec<Refreshed>,
    /// Whether state was written.
    recorded: bool,
    /// Reads only.
    aws_calls: crate::providers::CallCounts,
}

impl fmt::Display for RefreshReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resources.is_empty() {
            return writeln!(f, "No drift to record: state already matches what is live.");
        }
        for r in &self.resources {
            match r.status {
                Status::Deleted => writeln!(
                    f,
                    "{}: gone from AWS; forgotten by state (the next plan creates it again)",
                    r.resource
                )?,
                _ => writeln!(f, "{}: live values recorded", r.resource)?,
            }
            for c in &r.changes {
                let fate = match &c.setting {
                    Some(key) => format!("saved as setting {key}: the next plan keeps it"),
                    None => format!("the next plan reverts it to {}", c.recorded),
                };
                writeln!(f, "    {}: {} -> {}; {fate}", c.path, c.recorded, c.live)?;
            }
        }
        Ok(())
    }
}

/// The setting that carries `path` of `resource`, with the live value in
/// the setting's form.
fn setting_for(resource: &str, path: &str, live: &Value) -> Option<(&'static str, Value)> {
    let row = SETTINGS.iter().find(|s| s.live == Some((resource, path)))?;
    let value = match (row.form, live) {
        (Form::IntOrNone, Value::Null) => Value::from("none"),
        (_, Value::Null) => return None,
        _ => live.clone(),
    };
    Some((row.key, value))
}

/// A tag found the same on every resource that carries tags is an extra
/// tag of the stack (`--tag KEY=VALUE`): its setting `tags.KEY` and live
/// value (null: removed everywhere). A tag on some resources only is not.
fn extra_tag(
    path: &str,
    live: &Value,
    observed: &BTreeMap<String, Observed>,
) -> Option<(String, Value)> {
    let key = path.strip_prefix(TAG_PREFIX)?;
    if key.contains('.') || ["Project", "Environment", "ManagedBy"].contains(&key) {
        return None;
    }
    let tagged: Vec<&Value> = observed
        .values()
        .filter_map(|o| o.props.get("tags"))
        .collect();
    let everywhere = !tagged.is_empty()
        && tagged
            .iter()
            .all(|t| t.get(key).unwrap_or(&Value::Null) == live);
    everywhere.then(|| (format!("{TAG_PREFIX}{key}"), live.clone()))
}

pub async fn run(
    config: &Config,
    only: &[String],
    with_settings: bool,
    yes: bool,
) -> Result<ExitStatus> {
    let (Session { aws, store }, lease) =
        Session::open(config).await.lock(config, "refresh").await?;
    let stack = Stack::load(
        &aws,
        store,
        &config.suffix,
        String::new(),
        SettingsFrom::Flags(Default::default()),
    )
    .await?;
    let Some(mut state) = stack.state.clone() else {
        bail!(
            "no state at {}: the stack {} has not been applied, so there is nothing to refresh",
            stack.store.location(),
            config.suffix
        );
    };
    for name in only {
        if !state.resources.contains_key(name) {
            let known: Vec<&str> = state.resources.keys().map(String::as_str).collect();
            bail!(
                "{name} is not in the state of stack {}; it holds {}",
                config.suffix,
                known.join(", ")
            );
        }
    }
    let drifted: Vec<_> = detect(&state, &stack.observed)
        .into_iter()
        .filter(|d| d.status != Status::InSync)
        .filter(|d| only.is_empty() || only.contains(&d.resource))
        .collect();
    let mut saved = state.settings.clone();
    let resources: Vec<Refreshed> = drifted
        .iter()
        .map(|d| Refreshed {
            resource: d.resource.clone(),
            status: d.status,
            changes: d
                .drifted_properties
                .iter()
                .map(|p| {
                    let found = with_settings
                        .then(|| {
                            setting_for(&d.resource, &p.path, &p.actual)
                                .map(|(k, v)| (k.to_owned(), v))
                                .or_else(|| extra_tag(&p.path, &p.actual, &stack.observed))
                        })
                        .flatten();
                    match &found {
                        Some((key, Value::Null)) => {
                            saved.remove(key);
                        }
                        Some((key, value)) => {
                            saved.insert(key.clone(), value.clone());
                        }
                        None => {}
                    }
                    Change {
                        path: p.path.clone(),
                        recorded: p.expected.clone(),
                        live: p.actual.clone(),
                        setting: found.map(|(k, _)| k),
                    }
                })
                .collect(),
        })
        .collect();
    let mut report = RefreshReport {
        resources,
        recorded: false,
        aws_calls: aws.calls.counts(),
    };
    if report.resources.is_empty() {
        emit(config, &report);
        return Ok(ExitStatus::Success);
    }
    // The settings as they would be saved must still make a valid stack.
    settings::resolve(&saved, &Default::default())?;
    if !config.json {
        print!("{report}");
    }
    if !confirm(
        yes,
        "\nRecord these live values in state? Nothing is changed in AWS.",
    )? {
        eprintln!("Refresh cancelled.");
        return Ok(ExitStatus::Failure);
    }
    for d in &drifted {
        match stack.observed.get(&d.resource) {
            Some(live) => {
                let entry = state
                    .resources
                    .get_mut(&d.resource)
                    .expect("drift of a recorded resource");
                // What state records, as it is live: only the properties it
                // records (the program's), nothing it does not manage.
                for (k, v) in entry.properties.iter_mut() {
                    if let Some(now) = live.props.get(k) {
                        *v = now.clone();
                    }
                }
                entry.outputs = live.outputs.clone();
                entry.id = live.id.clone();
            }
            None => {
                state.resources.remove(&d.resource);
            }
        }
    }
    state.settings = saved;
    stack.store.save(&mut state, &lease).await?;
    report.recorded = true;
    report.aws_calls = aws.calls.counts();
    if config.json {
        emit(config, &report);
    } else {
        println!(
            "\nRefresh recorded {} resource(s) in state; nothing was changed in AWS.",
            report.resources.len()
        );
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drifted_values_map_to_the_settings_that_carry_them() {
        assert_eq!(
            setting_for("function", "memory_size", &json!(2048)),
            Some(("memory_size", json!(2048)))
        );
        assert_eq!(
            setting_for("function", "reserved_concurrency", &Value::Null),
            Some(("reserved_concurrency", json!("none")))
        );
        assert_eq!(
            setting_for("function", "environment.LOG_LEVEL", &json!("debug")),
            Some(("log_level", json!("debug")))
        );
        assert_eq!(
            setting_for("log_group", "retention_in_days", &json!(7)),
            Some(("log_retention_days", json!(7)))
        );
        // Not a setting: the plan reverts it.
        assert_eq!(setting_for("kms_key", "policy", &json!({})), None);
        assert_eq!(setting_for("function", "memory_size", &Value::Null), None);
    }

    #[test]
    fn a_tag_found_on_every_tagged_resource_is_an_extra_tag() {
        let live = |tags: Value| Observed {
            id: "x".into(),
            props: [("tags".to_string(), tags)].into(),
            outputs: Default::default(),
        };
        let mut observed: BTreeMap<String, Observed> = [
            (
                "function".to_string(),
                live(json!({"ManagedBy": "webhook-stack", "Owner": "ops"})),
            ),
            (
                "table".to_string(),
                live(json!({"ManagedBy": "webhook-stack", "Owner": "ops"})),
            ),
        ]
        .into();
        // An alias carries no tags: it does not count.
        observed.insert(
            "kms_alias".into(),
            Observed {
                id: "alias/x".into(),
                props: Default::default(),
                outputs: Default::default(),
            },
        );
        assert_eq!(
            extra_tag("tags.Owner", &json!("ops"), &observed),
            Some(("tags.Owner".into(), json!("ops")))
        );
        // Removed everywhere: the setting goes.
        assert_eq!(
            extra_tag("tags.Gone", &Value::Null, &observed),
            Some(("tags.Gone".into(), Value::Null))
        );
        // On one resource only, or a tag the stack sets: not a setting.
        observed.insert("role".into(), live(json!({"ManagedBy": "webhook-stack"})));
        assert_eq!(extra_tag("tags.Owner", &json!("ops"), &observed), None);
        assert_eq!(extra_tag("tags.ManagedBy", &json!("x"), &observed), None);
        assert_eq!(extra_tag("memory_size", &json!(1), &observed), None);
    }
}

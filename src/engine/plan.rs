//! Decide, then act: a plan is plain data — one step per resource with its
//! property-level changes — that can be printed, saved and compared.

use super::diff::{all_added, all_removed, diff, PropertyChange};
use super::expr::OutputsByResource;
use super::graph::Graph;
use super::model::{Declared, Kind, Observed, Props, Schema};
use crate::engine::state::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the plan's JSON form (`plan --json`, `plan --out`).
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    /// Nothing to do.
    Noop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub resource: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub action: Action,
    /// Physical id of the existing resource, if there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// The resource exists in AWS under the stack's name but not in state:
    /// it is adopted (recorded in state) instead of created again.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub adopt: bool,
    pub changes: Vec<PropertyChange>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Default,
    Saved,
    Flag,
}

/// One setting as a plan used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Used {
    pub value: serde_json::Value,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    pub import: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub suffix: String,
    pub region: String,
    pub account: String,
    /// The state the plan was made against; a saved plan is refused when
    /// the state has moved on.
    pub state_lineage: Option<String>,
    pub state_serial: Option<u64>,
    /// Steps in the order they may start: dependencies first, deletions of
    /// resources the program no longer declares last (dependents first).
    pub steps: Vec<Step>,
    pub summary: Summary,
    /// Resources named in `--replace`: replaced even without a change, and
    /// allowed to be replaced or deleted although they hold data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
    /// A `destroy` plan: deleting everything is what was asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
    /// The stack settings the program was declared with, and where each
    /// came from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, Used>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.action != Action::Noop || s.adopt)
    }

    /// Steps that would delete data or keys (replacing or deleting the
    /// table or the key) without the resource being named in `--replace`:
    /// shown by `plan`, refused by `apply`.
    pub fn unsafe_steps(&self, schema: &dyn Schema) -> Vec<&Step> {
        if self.destroy {
            return vec![];
        }
        self.steps
            .iter()
            .filter(|s| {
                matches!(s.action, Action::Replace | Action::Delete)
                    && schema.loses(s.kind).is_some()
                    && !self.replace.contains(&s.resource)
            })
            .collect()
    }
}

/// Resolves a resource's declared properties against the outputs known now.
pub fn desired_props(d: &Declared, outputs: &OutputsByResource, schema: &dyn Schema) -> Props {
    let props = d
        .props
        .iter()
        .map(|(k, e)| (k.to_string(), e.resolve(outputs)))
        .collect();
    schema.normalize(d.kind, props)
}

pub struct Inputs<'a> {
    pub declared: &'a [Declared],
    pub graph: &'a Graph,
    pub state: Option<&'a State>,
    /// Live configuration of each resource found in AWS.
    pub observed: &'a BTreeMap<String, Observed>,
    pub schema: &'a dyn Schema,
    pub suffix: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// Resources to replace whether or not they changed (`--replace`).
    pub replace: &'a [String],
}

impl Inputs<'_> {
    fn finish(&self, steps: Vec<Step>) -> Plan {
        let mut summary = Summary::default();
        for s in &steps {
            match s.action {
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.destroy += 1,
                Action::Noop => {}
            }
            if s.adopt {
                summary.import += 1;
            }
        }
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            suffix: self.suffix.into(),
            region: self.region.into(),
            account: self.account.into(),
            state_lineage: self.state.map(|s| s.lineage.clone()),
            state_serial: self.state.map(|s| s.serial),
            steps,
            summary,
            replace: self.replace.to_vec(),
            destroy: false,
            settings: BTreeMap::new(),
        }
    }

    fn in_state(&self, resource: &str) -> bool {
        self.state
            .is_some_and(|s| s.resources.contains_key(resource))
    }

    /// Resources in state that the program no longer declares.
    fn orphans(&self) -> Vec<(String, Kind)> {
        let Some(state) = self.state else {
            return vec![];
        };
        let undeclared = |k: &&String| !self.declared.iter().any(|d| d.key == k.as_str());
        // Recorded, or a creation of it was pending (a run died after asking
        // AWS to create it): either way the stack's own.
        let recorded = state.resources.iter().map(|(k, r)| (k, r.kind));
        // Only when what is found carries the stack's tags: the creation
        // may have failed, and the name be someone else's since.
        let ours = |k: &String| {
            self.observed
                .get(k)
                .is_some_and(|o| super::ownership::untagged_reason(o, self.suffix).is_none())
        };
        let pending = state
            .pending
            .iter()
            .filter(|(k, _)| !state.resources.contains_key(*k) && ours(k))
            .map(|(k, p)| (k, p.kind));
        let mut v: Vec<(String, Kind)> = recorded
            .chain(pending)
            .filter(|(k, _)| undeclared(k))
            .map(|(k, kind)| (k.clone(), kind))
            .collect();
        // Dependents before their dependencies.
        v.sort_by_key(|(k, _)| std::cmp::Reverse(self.dependency_depth(k)));
        v
    }

    fn dependency_depth(&self, resource: &str) -> usize {
        let Some(state) = self.state else { return 0 };
        let mut depth = 0;
        let mut frontier = vec![resource.to_string()];
        while !frontier.is_empty() && depth < state.resources.len() {
            frontier = frontier
                .iter()
                .filter_map(|r| state.resources.get(r))
                .flat_map(|r| r.dependencies.clone())
                .collect();
            if !frontier.is_empty() {
                depth += 1;
            }
        }
        depth
    }

    fn delete_step(&self, resource: &str, kind: Kind) -> Option<Step> {
        let live = self.observed.get(resource)?;
        Some(Step {
            resource: resource.into(),
            kind,
            action: Action::Delete,
            id: Some(live.id.clone()),
            adopt: false,
            changes: all_removed(&live.props),
        })
    }
}

/// The plan that brings AWS to the program's declaration.
pub fn plan_apply(inp: &Inputs<'_>) -> Plan {
    let by_key: BTreeMap<&str, &Declared> = inp.declared.iter().map(|d| (d.key, d)).collect();
    // Outputs known at plan time: those of resources that exist and keep
    // their identity. A resource to create or replace has none yet, so what
    // refers to it shows `(known after apply)`.
    let mut outputs = OutputsByResource::new();
    let mut steps = Vec::new();
    for key in inp.graph.topological_order() {
        let d = by_key[key.as_str()];
        let wanted = desired_props(d, &outputs, inp.schema);
        let step = match inp.observed.get(d.key) {
            None => Step {
                resource: d.key.into(),
                kind: d.kind,
                action: Action::Create,
                id: None,
                adopt: false,
                changes: all_added(&wanted),
            },
            Some(live) => {
                let changes = diff(inp.schema.replace_keys(d.kind), &wanted, &live.props);
                let forced = inp.replace.iter().any(|r| r == d.key);
                let action = if forced || changes.iter().any(|c| c.forces_replacement) {
                    Action::Replace
                } else if changes.is_empty() {
                    Action::Noop
                } else {
                    Action::Update
                };
                if action != Action::Replace {
                    outputs.insert(d.key.into(), live.outputs.clone());
                }
                Step {
                    resource: d.key.into(),
                    kind: d.kind,
                    action,
                    id: Some(live.id.clone()),
                    adopt: !inp.in_state(d.key),
                    changes,
                }
            }
        };
        steps.push(step);
    }
    for (key, kind) in inp.orphans() {
        steps.extend(inp.delete_step(&key, kind));
    }
    inp.finish(steps)
}

/// The plan that deletes every resource the stack owns, dependents first:
/// those in state, and creations recorded as pending (an interrupted run's).
pub fn plan_destroy(inp: &Inputs<'_>) -> Plan {
    let mut steps: Vec<Step> = inp
        .orphans()
        .into_iter()
        .filter_map(|(k, kind)| inp.delete_step(&k, kind))
        .collect();
    for key in inp.graph.reverse_topological_order() {
        let d = inp
            .declared
            .iter()
            .find(|d| d.key == key)
            .expect("graph node is declared");
        // Only what state records, or a creation it recorded as pending: a
        // resource that merely carries a stack name is never deleted.
        let pending = inp.state.is_some_and(|s| s.pending.contains_key(d.key));
        if inp.in_state(d.key) || pending {
            steps.extend(inp.delete_step(d.key, d.kind));
        }
    }
    Plan {
        destroy: true,
        ..inp.finish(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::expr::{lit, output, UNKNOWN};
    use crate::engine::model::testing::{TestSchema, ROLE, TABLE};
    use serde_json::json;

    fn declared() -> Vec<Declared> {
        vec![
            Declared {
                key: "table",
                kind: TABLE,
                props: [
                    ("name", lit("t")),
                    ("partition_key", lit(json!({"name": "id", "type": "S"}))),
                ]
                .into(),
                depends_on: vec![],
            },
            Declared {
                key: "role",
                kind: ROLE,
                props: [("name", lit("r")), ("table_arn", output("table", "arn"))].into(),
                depends_on: vec![],
            },
        ]
    }

    fn observed(id: &str, props: serde_json::Value, arn: &str) -> Observed {
        Observed {
            id: id.into(),
            props: serde_json::from_value(props).unwrap(),
            outputs: [("arn".to_string(), arn.to_string())].into(),
        }
    }

    fn make(observed: &BTreeMap<String, Observed>, state: Option<&State>) -> Plan {
        let d = declared();
        let graph = Graph::new(d.iter().map(|d| (d.key, d.dependencies()))).unwrap();
        let inputs = Inputs {
            declared: &d,
            graph: &graph,
            state,
            observed,
            schema: &TestSchema,
            suffix: "dev",
            region: "us-east-1",
            account: "1",
            replace: &[],
        };
        plan_apply(&inputs)
    }

    #[test]
    fn an_empty_account_creates_everything_with_unknown_references() {
        let plan = make(&BTreeMap::new(), None);
        assert_eq!(
            plan.summary,
            Summary {
                add: 2,
                ..Default::default()
            }
        );
        let role = &plan.steps[1];
        assert_eq!(role.resource, "role");
        let arn = role.changes.iter().find(|c| c.path == "table_arn").unwrap();
        assert_eq!(arn.after, Some(json!(UNKNOWN)));
    }

    #[test]
    fn a_changed_key_schema_replaces_and_dependents_see_unknown_outputs() {
        let mut state = State::new("dev", "us-east-1", "1");
        for (k, kind) in [("table", TABLE), ("role", ROLE)] {
            state.resources.insert(
                k.into(),
                crate::engine::state::ResourceState {
                    kind,
                    id: k.into(),
                    properties: Props::new(),
                    outputs: Default::default(),
                    dependencies: vec![],
                    serial: 0,
                },
            );
        }
        let observed = BTreeMap::from([
            (
                "table".to_string(),
                observed(
                    "t",
                    json!({"name": "t", "partition_key": {"name": "pk", "type": "S"}}),
                    "arn:t",
                ),
            ),
            (
                "role".to_string(),
                observed("r", json!({"name": "r", "table_arn": "arn:t"}), "arn:r"),
            ),
        ]);
        let plan = make(&observed, Some(&state));
        assert_eq!(plan.steps[0].action, Action::Replace);
        let c = &plan.steps[0].changes[0];
        assert_eq!(
            (c.path.as_str(), c.forces_replacement),
            ("partition_key.name", true)
        );
        assert_eq!(plan.steps[1].action, Action::Update);
        assert_eq!(plan.steps[1].changes[0].after, Some(json!(UNKNOWN)));
        assert_eq!(
            plan.summary,
            Summary {
                change: 1,
                replace: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn resources_found_by_name_but_not_in_state_are_adopted() {
        let observed = BTreeMap::from([
            (
                "table".to_string(),
                observed(
                    "t",
                    json!({"name": "t", "partition_key": {"name": "id", "type": "S"}}),
                    "arn:t",
                ),
            ),
            (
                "role".to_string(),
                observed("r", json!({"name": "r", "table_arn": "arn:t"}), "arn:r"),
            ),
        ]);
        let plan = make(&observed, None);
        assert!(plan
            .steps
            .iter()
            .all(|s| s.adopt && s.action == Action::Noop));
        assert_eq!(
            plan.summary,
            Summary {
                import: 2,
                ..Default::default()
            }
        );
        assert!(plan.has_changes(), "adopting writes state");
    }
}

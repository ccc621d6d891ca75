//! What the stack owns (docs/design.md, "Ownership"): a resource recorded in state,
//! or one found under a stack name that carries this stack's own tags (its
//! run died before recording it). Anything else under a stack name belongs
//! to someone else: the plan refuses to take it over, and destroy leaves it.

use super::model::{Declared, Kind, Observed};
use crate::engine::state::State;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The tags that mark a resource as made by this tool for this stack.
pub const OWNER_TAG: (&str, &str) = ("ManagedBy", "webhook-stack");
pub const ENVIRONMENT_TAG: &str = "Environment";

/// A resource found under one of the stack's names that the stack does not own.
#[derive(Debug, Clone, PartialEq)]
pub struct Foreign {
    pub resource: String,
    pub kind: Kind,
    pub id: String,
    pub reason: String,
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` ({}) exists but is not managed by this stack: {}",
            self.resource, self.id, self.kind, self.reason
        )
    }
}

fn tag<'a>(live: &'a Observed, key: &str) -> Option<&'a str> {
    live.props.get("tags")?.get(key)?.as_str()
}

/// Why `live` is not this stack's, or `None` if it carries its tags.
pub(crate) fn untagged_reason(live: &Observed, suffix: &str) -> Option<String> {
    let managed = tag(live, OWNER_TAG.0) == Some(OWNER_TAG.1);
    let environment = tag(live, ENVIRONMENT_TAG) == Some(suffix);
    if managed && environment {
        return None;
    }
    let shown = |v: Option<&str>| v.map_or("absent".to_string(), |v| format!("{v:?}"));
    Some(format!(
        "state does not record it and it does not carry this stack's tags {}={} and {ENVIRONMENT_TAG}={suffix} (it has {}={}, {ENVIRONMENT_TAG}={})",
        OWNER_TAG.0,
        OWNER_TAG.1,
        OWNER_TAG.0,
        shown(tag(live, OWNER_TAG.0)),
        shown(tag(live, ENVIRONMENT_TAG)),
    ))
}

/// The resources found under the stack's names that it does not own.
/// Untaggable kinds (the KMS alias) are owned when they name a resource
/// they depend on that the stack owns (the alias's target key).
pub fn foreign(
    declared: &[Declared],
    state: Option<&State>,
    observed: &BTreeMap<String, Observed>,
    suffix: &str,
) -> Vec<Foreign> {
    let recorded = |key: &str| state.is_some_and(|s| s.resources.contains_key(key));
    let mut out = Vec::new();
    for d in declared {
        if recorded(d.key) {
            continue;
        }
        let Some(live) = observed.get(d.key) else {
            continue;
        };
        let reason = if live.props.contains_key("tags") {
            untagged_reason(live, suffix)
        } else {
            // Not taggable (the KMS alias): owned through a resource it
            // depends on, when one of its properties names that resource.
            let owned_id = |key: &str| {
                state
                    .and_then(|s| s.resources.get(key))
                    .map(|r| r.id.as_str())
                    .or_else(|| {
                        observed
                            .get(key)
                            .filter(|o| untagged_reason(o, suffix).is_none())
                            .map(|o| o.id.as_str())
                    })
            };
            let named: Vec<&str> = live.props.values().filter_map(Value::as_str).collect();
            let owner = d
                .dependencies()
                .into_iter()
                .filter_map(owned_id)
                .find(|id| named.contains(id));
            owner.is_none().then(|| {
                format!(
                    "state does not record it, it carries no tags, and it names none of this stack's resources (it has {})",
                    live.props
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        };
        if let Some(reason) = reason {
            out.push(Foreign {
                resource: d.key.to_string(),
                kind: d.kind,
                id: live.id.clone(),
                reason,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::testing::{ALIAS, KEY, TABLE};
    use serde_json::json;

    fn decl(key: &'static str, kind: Kind) -> Declared {
        Declared {
            key,
            kind,
            props: BTreeMap::new(),
            depends_on: vec![],
        }
    }

    fn live(id: &str, props: Value) -> Observed {
        Observed {
            id: id.into(),
            props: serde_json::from_value(props).unwrap(),
            outputs: BTreeMap::new(),
        }
    }

    #[test]
    fn only_this_stacks_tags_or_state_make_a_resource_its_own() {
        let declared = [
            decl("kms_key", KEY),
            Declared {
                depends_on: vec!["kms_key"],
                ..decl("kms_alias", ALIAS)
            },
            decl("table", TABLE),
        ];
        let ours = json!({"ManagedBy": "webhook-stack", "Environment": "prod"});
        let mut observed = BTreeMap::from([
            ("kms_key".to_string(), live("k1", json!({"tags": ours}))),
            (
                "kms_alias".to_string(),
                live("alias/x", json!({"target_key_id": "k1"})),
            ),
            (
                "table".to_string(),
                live("transactions-prod", json!({"tags": {}})),
            ),
        ]);
        let found = foreign(&declared, None, &observed, "prod");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].resource, "table");
        assert!(
            found[0].to_string().contains("ManagedBy=absent"),
            "{}",
            found[0]
        );

        // Another stack's tags are not ours either.
        observed.insert(
            "table".into(),
            live(
                "transactions-prod",
                json!({"tags": {"ManagedBy": "webhook-stack", "Environment": "staging"}}),
            ),
        );
        assert_eq!(foreign(&declared, None, &observed, "prod").len(), 1);

        // Recorded in state: ours whatever its tags; an alias pointing at a
        // key that is not ours is not ours.
        let mut state = State::new("prod", "us-east-1", "1");
        state.resources.insert(
            "table".into(),
            crate::engine::state::ResourceState {
                kind: TABLE,
                id: "transactions-prod".into(),
                properties: Default::default(),
                outputs: Default::default(),
                dependencies: vec![],
                serial: 0,
            },
        );
        observed.insert("kms_key".into(), live("k2", json!({"tags": {}})));
        let found = foreign(&declared, Some(&state), &observed, "prod");
        let names: Vec<&str> = found.iter().map(|f| f.resource.as_str()).collect();
        assert_eq!(names, ["kms_key", "kms_alias"]);
    }
}

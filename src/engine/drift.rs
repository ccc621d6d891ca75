//! Drift: how live resources differ from what was last applied (state).

use super::diff::diff;
use super::model::{Kind, Observed};
use crate::engine::state::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Version of `drift --json`'s schema.
pub const DRIFT_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    InSync,
    Modified,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyDrift {
    pub path: String,
    /// As last applied; `null` when the live resource has a field the state does not.
    pub expected: Value,
    /// As found; `null` when the field is gone.
    pub actual: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDrift {
    pub resource: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub id: String,
    pub status: Status,
    pub drifted_properties: Vec<PropertyDrift>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftSummary {
    pub in_sync: usize,
    pub modified: usize,
    pub deleted: usize,
}

/// Compares each resource in state with its live configuration.
pub fn detect(state: &State, observed: &BTreeMap<String, Observed>) -> Vec<ResourceDrift> {
    state
        .resources
        .iter()
        .map(|(key, recorded)| {
            let (status, drifted) = match observed.get(key) {
                None => (Status::Deleted, vec![]),
                Some(live) => {
                    let changes: Vec<PropertyDrift> = diff(&[], &recorded.properties, &live.props)
                        .into_iter()
                        .map(|c| PropertyDrift {
                            path: c.path,
                            expected: c.after.unwrap_or(Value::Null),
                            actual: c.before.unwrap_or(Value::Null),
                        })
                        .collect();
                    let status = if changes.is_empty() {
                        Status::InSync
                    } else {
                        Status::Modified
                    };
                    (status, changes)
                }
            };
            ResourceDrift {
                resource: key.clone(),
                kind: recorded.kind,
                id: recorded.id.clone(),
                status,
                drifted_properties: drifted,
            }
        })
        .collect()
}

pub fn summarize(resources: &[ResourceDrift]) -> DriftSummary {
    let mut s = DriftSummary::default();
    for r in resources {
        match r.status {
            Status::InSync => s.in_sync += 1,
            Status::Modified => s.modified += 1,
            Status::Deleted => s.deleted += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::testing::{LOG_GROUP, ROLE, TABLE};
    use crate::engine::state::ResourceState;
    use serde_json::json;

    #[test]
    fn reports_in_sync_modified_and_deleted() {
        let mut state = State::new("dev", "us-east-1", "1");
        for (k, kind, props) in [
            (
                "log_group",
                LOG_GROUP,
                json!({"retention_in_days": 30, "tags": {"a": "1"}}),
            ),
            ("table", TABLE, json!({"point_in_time_recovery": true})),
            ("role", ROLE, json!({"name": "r"})),
        ] {
            state.resources.insert(
                k.into(),
                ResourceState {
                    kind,
                    id: k.into(),
                    properties: serde_json::from_value(props).unwrap(),
                    outputs: Default::default(),
                    dependencies: vec![],
                    serial: 0,
                },
            );
        }
        let live = |p: serde_json::Value| Observed {
            id: "x".into(),
            props: serde_json::from_value(p).unwrap(),
            outputs: Default::default(),
        };
        let observed = BTreeMap::from([
            (
                "log_group".to_string(),
                live(json!({"retention_in_days": null, "tags": {"a": "1", "b": "2"}})),
            ),
            (
                "role".to_string(),
                live(json!({"name": "r", "unmanaged_default": 1})),
            ),
        ]);
        let r = detect(&state, &observed);
        assert_eq!(r[0].status, Status::Modified);
        assert_eq!(
            r[0].drifted_properties,
            vec![
                PropertyDrift {
                    path: "retention_in_days".into(),
                    expected: json!(30),
                    actual: json!(null)
                },
                PropertyDrift {
                    path: "tags.b".into(),
                    expected: json!(null),
                    actual: json!("2")
                },
            ]
        );
        assert_eq!(r[1].status, Status::InSync);
        assert_eq!(r[2].status, Status::Deleted);
        assert_eq!(
            summarize(&r),
            DriftSummary {
                in_sync: 1,
                modified: 1,
                deleted: 1
            }
        );
    }
}

//! Property-level comparison of two normalised property maps.

use super::model::Props;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One property (or nested field) that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyChange {
    /// Dotted path: `tags.Environment`, `policy.Statement.WriteLogs.Action`.
    pub path: String,
    /// The current (live or recorded) value; absent when the field is new.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub before: Option<Value>,
    /// The wanted value; absent when the field goes away. May be or contain
    /// [`UNKNOWN`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub after: Option<Value>,
    /// AWS cannot change this in place.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub forces_replacement: bool,
}

/// A field that is present is `Some`, even when it is `null` (a value the
/// program wants absent): serde's default would read `null` back as `None`,
/// and a saved plan would then differ from the same plan made again.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Compares `wanted` with `current`. Only the properties present in `wanted`
/// are compared at the top level: a property the program does not set is an
/// AWS default it does not manage. Inside a property everything counts, so an
/// extra tag, statement or inline policy is a change.
pub fn diff(replace_keys: &[&str], wanted: &Props, current: &Props) -> Vec<PropertyChange> {
    let mut out = Vec::new();
    for (name, w) in wanted {
        let forces = replace_keys.contains(&name.as_str());
        let start = out.len();
        diff_value(name.clone(), Some(w), current.get(name), &mut out);
        for c in &mut out[start..] {
            c.forces_replacement = forces;
        }
    }
    out
}

fn diff_value(
    path: String,
    want: Option<&Value>,
    cur: Option<&Value>,
    out: &mut Vec<PropertyChange>,
) {
    match (want, cur) {
        (Some(w), Some(c)) if w == c => {}
        (Some(Value::Object(w)), Some(Value::Object(c))) => {
            let mut keys: Vec<&String> = w.keys().chain(c.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff_value(format!("{path}.{k}"), w.get(k), c.get(k), out);
            }
        }
        _ => out.push(PropertyChange {
            path,
            before: cur.cloned(),
            after: want.cloned(),
            forces_replacement: false,
        }),
    }
}

/// Every property as an addition (a resource to create).
pub fn all_added(wanted: &Props) -> Vec<PropertyChange> {
    wanted
        .iter()
        .map(|(k, v)| PropertyChange {
            path: k.clone(),
            before: None,
            after: Some(v.clone()),
            forces_replacement: false,
        })
        .collect()
}

/// Every property as a removal (a resource to delete).
pub fn all_removed(current: &Props) -> Vec<PropertyChange> {
    current
        .iter()
        .map(|(k, v)| PropertyChange {
            path: k.clone(),
            before: Some(v.clone()),
            after: None,
            forces_replacement: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::expr::UNKNOWN;
    use serde_json::json;

    fn props(v: Value) -> Props {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn equal_maps_have_no_diff_and_unmanaged_live_props_are_ignored() {
        let want = props(json!({"memory_size": 1024, "tags": {"a": "1"}}));
        let cur = props(json!({"memory_size": 1024, "tags": {"a": "1"}, "version": "$LATEST"}));
        assert!(diff(&["name"], &want, &cur).is_empty());
    }

    #[test]
    fn nested_changes_have_paths_and_replace_keys_are_flagged() {
        let want = props(
            json!({"name": "t2", "tags": {"a": "1", "b": "2"}, "billing_mode": "PAY_PER_REQUEST"}),
        );
        let cur = props(
            json!({"name": "t1", "tags": {"a": "9", "c": "3"}, "billing_mode": "PAY_PER_REQUEST"}),
        );
        let d = diff(&["name", "partition_key", "sort_key"], &want, &cur);
        let summary: Vec<(String, Option<Value>, Option<Value>, bool)> = d
            .into_iter()
            .map(|c| (c.path, c.before, c.after, c.forces_replacement))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("name".into(), Some(json!("t1")), Some(json!("t2")), true),
                ("tags.a".into(), Some(json!("9")), Some(json!("1")), false),
                ("tags.b".into(), None, Some(json!("2")), false),
                ("tags.c".into(), Some(json!("3")), None, false),
            ]
        );
    }

    #[test]
    fn unknown_values_are_changes() {
        let want = props(json!({"role": UNKNOWN}));
        let cur = props(json!({"role": "arn:aws:iam::1:role/r"}));
        let d = diff(&["name"], &want, &cur);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].after, Some(json!(UNKNOWN)));
    }

    #[test]
    fn a_missing_property_is_an_addition() {
        let want = props(json!({"retention_in_days": 30}));
        let d = diff(&["name"], &want, &Props::new());
        assert_eq!(d[0].before, None);
        assert_eq!(d[0].after, Some(json!(30)));
    }
}

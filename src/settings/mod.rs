//! Stack settings (Pulumi's stack config): saved with the stack's state, so
//! that every machine plans with the same values. A value comes from a flag
//! of this run, else the saved settings, else its default, and every plan
//! says which. The settings themselves are the rows of `table.rs`.

mod table;

pub use crate::engine::plan::{Source, Used};
use serde_json::Value;
use std::collections::BTreeMap;
pub use table::{Form, Settings, SETTINGS, TAG_FLAG, TAG_PREFIX};

/// Settings by key, as saved (`memory_size`, `tags.team`, ...).
pub type Values = BTreeMap<String, Value>;

/// A setting that is unknown, unreadable or out of range.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub String);

fn unknown(key: &str) -> SettingError {
    let keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    SettingError(format!(
        "unknown setting {key:?}; the settings are {} and {TAG_PREFIX}KEY",
        keys.join(", ")
    ))
}

fn tag_key(key: &str) -> Option<&str> {
    key.strip_prefix(TAG_PREFIX).filter(|k| !k.is_empty())
}

/// Checks that `key` names a setting.
pub fn parse_key(key: &str) -> Result<(), SettingError> {
    if table::row(key).is_some() || tag_key(key).is_some() {
        Ok(())
    } else {
        Err(unknown(key))
    }
}

/// Reads `text` as the value of `key` (a flag's or `config set`'s), in its
/// saved form, checked like every other source.
pub fn parse(key: &str, text: &str) -> Result<Value, SettingError> {
    parse_key(key)?;
    let value = match table::row(key) {
        Some(row) => table::read(row.form, key, text).map_err(SettingError)?,
        None => Value::from(text),
    };
    resolve(
        &Values::new(),
        &Values::from([(key.to_owned(), value.clone())]),
    )?;
    Ok(value)
}

/// The flags given to this run (`(key, text)` in the order given; a
/// `--tag KEY=VALUE` as `tag`), as settings.
pub fn from_flags(given: &[(&'static str, String)]) -> Result<Values, SettingError> {
    let mut values = Values::new();
    for (key, text) in given {
        if *key == TAG_FLAG {
            let Some((k, v)) = text.split_once('=') else {
                return Err(SettingError(format!("--tag {text:?} is not KEY=VALUE")));
            };
            values.insert(format!("{TAG_PREFIX}{k}"), Value::from(v));
        } else {
            let row = table::row(key).ok_or_else(|| unknown(key))?;
            let value = table::read(row.form, key, text).map_err(SettingError)?;
            values.insert((*key).to_owned(), value);
        }
    }
    resolve(&Values::new(), &values)?;
    Ok(values)
}

/// Defaults, then `saved`, then `given`: the settings to plan with, checked,
/// and where each value came from.
pub fn resolve(
    saved: &Values,
    given: &Values,
) -> Result<(Settings, BTreeMap<String, Used>), SettingError> {
    let mut s = Settings::default();
    let mut used: BTreeMap<String, Used> = SETTINGS
        .iter()
        .filter_map(|row| {
            let value = (row.default?)();
            Some((
                row.key.to_owned(),
                Used {
                    value,
                    source: Source::Default,
                },
            ))
        })
        .collect();
    for (values, source) in [(saved, Source::Saved), (given, Source::Flag)] {
        for (key, value) in values {
            set(&mut s, key, value)?;
            used.insert(
                key.clone(),
                Used {
                    value: value.clone(),
                    source,
                },
            );
        }
    }
    Ok((s, used))
}

fn set(s: &mut Settings, key: &str, value: &Value) -> Result<(), SettingError> {
    let result = match (table::row(key), tag_key(key)) {
        (Some(row), _) => (row.set)(s, value),
        (None, Some(tag)) => table::set_tag(s, tag, value),
        (None, None) => return Err(unknown(key)),
    };
    result.map_err(SettingError)
}

/// A value as `config get` prints it: strings bare, the rest as JSON.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_beat_saved_values_which_beat_defaults() {
        let saved = Values::from([
            ("memory_size".into(), json!(2048)),
            ("tags.team".into(), json!("payments")),
        ]);
        let given = Values::from([("timeout".into(), json!(60))]);
        let (s, used) = resolve(&saved, &given).unwrap();
        assert_eq!(
            (s.memory_size, s.timeout, s.reserved_concurrency),
            (2048, 60, Some(100))
        );
        assert_eq!(s.extra_tags["team"], "payments");
        assert_eq!(used["memory_size"].source, Source::Saved);
        assert_eq!(used["timeout"].source, Source::Flag);
        assert_eq!(used["reserved_concurrency"].source, Source::Default);
    }

    #[test]
    fn config_set_values_are_checked_like_flags() {
        assert_eq!(parse("memory_size", "2048").unwrap(), json!(2048));
        assert_eq!(parse("alarms", "true").unwrap(), json!(true));
        assert_eq!(parse("tags.team", "payments").unwrap(), json!("payments"));
        assert_eq!(
            parse("reserved_concurrency", "none").unwrap(),
            json!("none")
        );
        assert_eq!(parse("deletion_protection", "true").unwrap(), json!(true));
        for (key, value, want) in [
            ("memory_size", "lots", "whole number"),
            ("memory_size", "64", "between 128 and 10240"),
            ("alarms", "yes", "true or false"),
            ("dead_letter_queue", "1", "true or false"),
            ("colour", "red", "unknown setting"),
            ("tags.", "x", "unknown setting"),
            ("tags.ManagedBy", "me", "set by the stack"),
            ("alarm_topic_arn", "topic", "not an SNS topic ARN"),
        ] {
            let err = parse(key, value).unwrap_err().to_string();
            assert!(err.contains(want), "{key}={value}: {err}");
        }
    }

    #[test]
    fn flags_are_read_by_their_rows() {
        let given = from_flags(&[
            ("memory_size", "2048".into()),
            ("alarms", "true".into()),
            (TAG_FLAG, "team=payments".into()),
        ])
        .unwrap();
        assert_eq!(given["memory_size"], json!(2048));
        assert_eq!(given["alarms"], json!(true));
        assert_eq!(given["tags.team"], json!("payments"));
        let err = from_flags(&[(TAG_FLAG, "team".into())]).unwrap_err();
        assert!(err.to_string().contains("is not KEY=VALUE"), "{err}");
    }
}

//! Stack settings (Pulumi's stack config): saved with the stack's
//! state, so that every machine plans with the same values. A value comes
//! from a flag of this run, else the saved settings, else the default,
//! and every plan says which.

use crate::cli::Tuning;
use crate::config::{check_settings, TuningError};
pub use crate::engine::plan::{Source, Used};
use crate::program::Settings;
use serde_json::Value;
use std::collections::BTreeMap;

/// Settings by key, as saved (`memory_size`, `tags.team`, ...).
pub type Values = BTreeMap<String, Value>;

/// The keys besides `tags.KEY`.
pub const KEYS: [&str; 7] = [
    "memory_size",
    "timeout",
    "reserved_concurrency",
    "log_retention_days",
    "log_level",
    "alarms",
    "alarm_topic_arn",
];

fn unknown(key: &str) -> TuningError {
    TuningError(format!(
        "unknown setting {key:?}; the settings are {} and tags.KEY",
        KEYS.join(", ")
    ))
}

fn is_known(key: &str) -> bool {
    KEYS.contains(&key) || key.strip_prefix("tags.").is_some_and(|k| !k.is_empty())
}

/// Checks that `key` names a setting.
pub fn parse_key(key: &str) -> Result<(), TuningError> {
    if is_known(key) {
        Ok(())
    } else {
        Err(unknown(key))
    }
}

/// `config set KEY VALUE`: the value in its saved form, checked like the
/// flag it stands for.
pub fn parse(key: &str, text: &str) -> Result<Value, TuningError> {
    parse_key(key)?;
    let value = match key {
        "memory_size" | "timeout" | "reserved_concurrency" | "log_retention_days" => text
            .parse::<i32>()
            .map(Value::from)
            .map_err(|_| TuningError(format!("{key} must be a whole number, not {text:?}")))?,
        "alarms" => text
            .parse::<bool>()
            .map(Value::from)
            .map_err(|_| TuningError(format!("alarms must be true or false, not {text:?}")))?,
        _ => Value::from(text),
    };
    resolve(
        &Values::new(),
        &Values::from([(key.to_owned(), value.clone())]),
    )?;
    Ok(value)
}

/// The flags given to this run, as settings.
pub fn from_flags(t: &Tuning) -> Result<Values, TuningError> {
    let mut given = Values::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            given.insert(k.to_owned(), v);
        }
    };
    put("memory_size", t.memory_size.map(Value::from));
    put("timeout", t.timeout.map(Value::from));
    put(
        "reserved_concurrency",
        t.reserved_concurrency.map(Value::from),
    );
    put("log_retention_days", t.log_retention_days.map(Value::from));
    put("log_level", t.log_level.clone().map(Value::from));
    put("alarms", t.alarms.map(Value::from));
    put(
        "alarm_topic_arn",
        t.alarm_topic_arn.clone().map(Value::from),
    );
    for tag in &t.tags {
        let Some((k, v)) = tag.split_once('=') else {
            return Err(TuningError(format!("--tag {tag:?} is not KEY=VALUE")));
        };
        given.insert(format!("tags.{k}"), Value::from(v));
    }
    resolve(&Values::new(), &given)?;
    Ok(given)
}

/// Defaults, then `saved`, then `given`: the settings to plan with, checked,
/// and where each value came from.
pub fn resolve(
    saved: &Values,
    given: &Values,
) -> Result<(Settings, BTreeMap<String, Used>), TuningError> {
    let mut s = Settings::default();
    let mut used = defaults(&s);
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
    Ok((check_settings(s)?, used))
}

fn defaults(s: &Settings) -> BTreeMap<String, Used> {
    let default = |v: Value| Used {
        value: v,
        source: Source::Default,
    };
    [
        ("memory_size", Value::from(s.memory_size)),
        ("timeout", Value::from(s.timeout)),
        ("reserved_concurrency", Value::from(s.reserved_concurrency)),
        ("log_retention_days", Value::from(s.log_retention_days)),
        ("log_level", Value::from(s.log_level.as_str())),
        ("alarms", Value::from(s.alarms)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), default(v)))
    .collect()
}

fn set(s: &mut Settings, key: &str, value: &Value) -> Result<(), TuningError> {
    let wrong = |what: &str| TuningError(format!("setting {key} must be {what}, not {value}"));
    let int = || {
        value
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| wrong("a whole number"))
    };
    let text = || {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| wrong("a string"))
    };
    match key {
        "memory_size" => s.memory_size = int()?,
        "timeout" => s.timeout = int()?,
        "reserved_concurrency" => s.reserved_concurrency = int()?,
        "log_retention_days" => s.log_retention_days = int()?,
        "log_level" => s.log_level = text()?,
        "alarms" => s.alarms = value.as_bool().ok_or_else(|| wrong("true or false"))?,
        "alarm_topic_arn" => s.alarm_topic_arn = Some(text()?),
        _ => match key.strip_prefix("tags.").filter(|k| !k.is_empty()) {
            Some(tag) => {
                s.extra_tags.insert(tag.to_owned(), text()?);
            }
            None => return Err(unknown(key)),
        },
    }
    Ok(())
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
            (2048, 60, 100)
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
        for (key, value, want) in [
            ("memory_size", "lots", "whole number"),
            ("memory_size", "64", "between 128 and 10240"),
            ("alarms", "yes", "true or false"),
            ("colour", "red", "unknown setting"),
            ("tags.", "x", "unknown setting"),
            ("tags.ManagedBy", "me", "set by the stack"),
            ("alarm_topic_arn", "topic", "not an SNS topic ARN"),
        ] {
            let err = parse(key, value).unwrap_err().to_string();
            assert!(err.contains(want), "{key}={value}: {err}");
        }
    }
}

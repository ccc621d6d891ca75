//! The stack's settings, one row each: key, flag, how a value is read and
//! checked, its default and what it applies to. The command-line flags,
//! `config set/get/unset`, the checks of saved values and saved plans, and
//! the plan's "Settings:" line all come from [`SETTINGS`].

use serde_json::Value;
use std::collections::BTreeMap;

/// The tunable values of the stack, checked. [`Settings::default`] is the
/// CloudFormation stack's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub memory_size: i32,
    pub timeout: i32,
    /// Reserved concurrent executions; `None` reserves none (the function
    /// shares the account's unreserved pool). `Some(0)` stops every
    /// invocation.
    pub reserved_concurrency: Option<i32>,
    pub log_retention_days: i32,
    pub log_level: String,
    /// Tags added to the three the stack always sets.
    pub extra_tags: BTreeMap<String, String>,
    /// The seed's four CloudWatch alarms (off by default).
    pub alarms: bool,
    /// Where the alarms send (AlarmActions and OKActions).
    pub alarm_topic_arn: Option<String>,
    /// An SQS dead-letter queue for events the function failed to process.
    pub dead_letter_queue: bool,
    /// The table's deletion protection.
    pub deletion_protection: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let mut s = Settings {
            memory_size: 0,
            timeout: 0,
            reserved_concurrency: None,
            log_retention_days: 0,
            log_level: String::new(),
            extra_tags: BTreeMap::new(),
            alarms: false,
            alarm_topic_arn: None,
            dead_letter_queue: false,
            deletion_protection: false,
        };
        for row in SETTINGS {
            if let Some(default) = row.default {
                (row.set)(&mut s, &default()).expect("defaults are valid");
            }
        }
        s
    }
}

/// How a value is written on the command line and in `config set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A whole number.
    Int,
    /// A whole number, or the word `none`.
    IntOrNone,
    /// `true` or `false`; the flag alone means true (`--alarms`).
    Bool,
    /// Text.
    Text,
}

/// One setting.
pub struct Setting {
    /// The key in `config` and in saved state (`memory_size`).
    pub key: &'static str,
    /// The command-line flag, without its dashes (`memory-size`).
    pub flag: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
    /// The resources whose declaration the setting changes (shown in the
    /// flag's help).
    pub applies_to: &'static str,
    pub form: Form,
    /// The value when none is saved or given; `None`: unset.
    pub default: Option<fn() -> Value>,
    /// Checks a value in its saved form and puts it into the settings.
    pub set: fn(&mut Settings, &Value) -> Result<(), String>,
    /// The live property that carries it (resource, dotted path), so that
    /// `refresh --settings` can adopt a value changed outside the tool.
    pub live: Option<(&'static str, &'static str)>,
}

/// `tags.KEY` settings and the repeatable `--tag KEY=VALUE` flag.
pub const TAG_PREFIX: &str = "tags.";
pub const TAG_FLAG: &str = "tag";

/// Every setting but the tags.
pub static SETTINGS: &[Setting] = &[
    Setting {
        key: "memory_size",
        flag: "memory-size",
        value_name: "MB",
        help: "Lambda memory in MB (128-10240; default 1024)",
        applies_to: "function",
        form: Form::Int,
        default: Some(|| Value::from(1024)),
        set: |s, v| {
            s.memory_size = int_in(v, "memory-size", 128, 10240)?;
            Ok(())
        },
        live: Some(("function", "memory_size")),
    },
    Setting {
        key: "timeout",
        flag: "timeout",
        value_name: "SECONDS",
        help: "Lambda timeout in seconds (1-900; default 30)",
        applies_to: "function",
        form: Form::Int,
        default: Some(|| Value::from(30)),
        set: |s, v| {
            s.timeout = int_in(v, "timeout", 1, 900)?;
            Ok(())
        },
        live: Some(("function", "timeout")),
    },
    Setting {
        key: "reserved_concurrency",
        flag: "reserved-concurrency",
        value_name: "N|none",
        help: "Reserved concurrent executions of the function (1-1000; default 100); \
               `none` reserves none; 0 stops every invocation",
        applies_to: "function",
        form: Form::IntOrNone,
        default: Some(|| Value::from(100)),
        set: |s, v| {
            s.reserved_concurrency = match v.as_str() {
                Some("none") => None,
                _ => Some(int_in(v, "reserved-concurrency", 0, 1000)?),
            };
            Ok(())
        },
        live: Some(("function", "reserved_concurrency")),
    },
    Setting {
        key: "log_retention_days",
        flag: "log-retention-days",
        value_name: "DAYS",
        help: "Log retention in days (one of CloudWatch Logs' allowed values; default 30)",
        applies_to: "log_group",
        form: Form::Int,
        default: Some(|| Value::from(30)),
        set: |s, v| {
            let days = int(v, "log-retention-days")?;
            if !RETENTION_DAYS.contains(&days) {
                return Err(format!(
                    "--log-retention-days must be one of {RETENTION_DAYS:?}, not {days}"
                ));
            }
            s.log_retention_days = days;
            Ok(())
        },
        live: Some(("log_group", "retention_in_days")),
    },
    Setting {
        key: "log_level",
        flag: "log-level",
        value_name: "LEVEL",
        help: "LOG_LEVEL of the handler (trace, debug, info, warn, error; default info)",
        applies_to: "function",
        form: Form::Text,
        default: Some(|| Value::from("info")),
        set: |s, v| {
            let level = text(v, "log-level")?;
            if !["trace", "debug", "info", "warn", "error"].contains(&level.as_str()) {
                return Err(format!(
                    "--log-level must be trace, debug, info, warn or error, not {level:?}"
                ));
            }
            s.log_level = level;
            Ok(())
        },
        live: Some(("function", "environment.LOG_LEVEL")),
    },
    Setting {
        key: "alarms",
        flag: "alarms",
        value_name: "BOOL",
        help: "Add the four CloudWatch alarms the seed's README recommends (error rate, \
               duration, throttles, DynamoDB system errors), one on the stack's drift \
               metric (drift --publish-metric), and one on the dead-letter queue when it \
               is on; --alarms=false removes them",
        applies_to: "alarms",
        form: Form::Bool,
        default: Some(|| Value::from(false)),
        set: |s, v| {
            s.alarms = boolean(v, "alarms")?;
            Ok(())
        },
        live: None,
    },
    Setting {
        key: "alarm_topic_arn",
        flag: "alarm-topic-arn",
        value_name: "ARN",
        help: "SNS topic the alarms notify when they fire and when they recover",
        applies_to: "alarms",
        form: Form::Text,
        default: None,
        set: |s, v| {
            let arn = text(v, "alarm-topic-arn")?;
            if !is_topic_arn(&arn) {
                return Err(format!(
                    "--alarm-topic-arn {arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                ));
            }
            s.alarm_topic_arn = Some(arn);
            Ok(())
        },
        live: None,
    },
    Setting {
        key: "dead_letter_queue",
        flag: "dead-letter-queue",
        value_name: "BOOL",
        help: "Keep the events an asynchronous invocation failed to process in an SQS \
               dead-letter queue (webhook-processor-SUFFIX-dlq, encrypted with the \
               stack's key, 14 days); --dead-letter-queue=false removes it",
        applies_to: "dead_letter_queue, function, role",
        form: Form::Bool,
        default: Some(|| Value::from(false)),
        set: |s, v| {
            s.dead_letter_queue = boolean(v, "dead-letter-queue")?;
            Ok(())
        },
        live: None,
    },
    Setting {
        key: "deletion_protection",
        flag: "deletion-protection",
        value_name: "BOOL",
        help: "Turn on the table's deletion protection (recommended in production): \
               destroy then refuses until it is turned off again",
        applies_to: "table",
        form: Form::Bool,
        default: Some(|| Value::from(false)),
        set: |s, v| {
            s.deletion_protection = boolean(v, "deletion-protection")?;
            Ok(())
        },
        live: Some(("table", "deletion_protection")),
    },
];

/// The row of `key` (not for `tags.KEY`).
pub fn row(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Sets `tags.KEY` to `value`, checked.
pub fn set_tag(s: &mut Settings, tag: &str, value: &Value) -> Result<(), String> {
    let v = value
        .as_str()
        .ok_or_else(|| format!("setting tags.{tag} must be a string, not {value}"))?;
    if tag.is_empty() || tag.len() > 128 || v.len() > 256 || tag.starts_with("aws:") {
        return Err(format!(
            "--tag {tag}={v}: keys are 1-128 characters and may not start with aws:, values at most 256"
        ));
    }
    if ["Project", "Environment", "ManagedBy"].contains(&tag) {
        return Err(format!("--tag {tag}: this tag is set by the stack"));
    }
    s.extra_tags.insert(tag.to_owned(), v.to_owned());
    Ok(())
}

/// Reads `text` (a flag's or `config set`'s) into the saved form of a
/// value of `form`; the row's `set` checks it further.
pub fn read(form: Form, key: &str, text: &str) -> Result<Value, String> {
    let whole = || {
        text.parse::<i32>()
            .map(Value::from)
            .map_err(|_| format!("{key} must be a whole number, not {text:?}"))
    };
    match form {
        Form::Int => whole(),
        Form::IntOrNone if text == "none" => Ok(Value::from("none")),
        Form::IntOrNone => {
            whole().map_err(|_| format!("{key} must be a whole number or none, not {text:?}"))
        }
        Form::Bool => text
            .parse::<bool>()
            .map(Value::from)
            .map_err(|_| format!("{key} must be true or false, not {text:?}")),
        Form::Text => Ok(Value::from(text)),
    }
}

fn int(v: &Value, flag: &str) -> Result<i32, String> {
    v.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| format!("--{flag} must be a whole number, not {v}"))
}

fn int_in(v: &Value, flag: &str, lo: i32, hi: i32) -> Result<i32, String> {
    let n = int(v, flag)?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("--{flag} must be between {lo} and {hi}, not {n}"))
    }
}

fn text(v: &Value, flag: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("--{flag} must be a string, not {v}"))
}

fn boolean(v: &Value, flag: &str) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("--{flag} must be true or false, not {v}"))
}

/// Retention periods CloudWatch Logs accepts.
const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// `arn:PARTITION:sns:REGION:ACCOUNT:NAME`, with a 12-digit account and a
/// topic name of 1-256 letters, digits, `-` and `_` (`.fifo` allowed).
fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [arn_, partition, service, region, account, name] = parts[..] else {
        return false;
    };
    let name = name.strip_suffix(".fifo").unwrap_or(name);
    arn_ == "arn"
        && partition.starts_with("aws")
        && service == "sns"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_cloudformation_stacks() {
        let s = Settings::default();
        assert_eq!(
            (s.memory_size, s.timeout, s.reserved_concurrency),
            (1024, 30, Some(100))
        );
        assert_eq!((s.log_retention_days, s.log_level.as_str()), (30, "info"));
        assert!(!s.alarms && !s.dead_letter_queue && !s.deletion_protection);
        assert_eq!(s.alarm_topic_arn, None);
    }

    #[test]
    fn every_row_is_distinct_and_its_default_passes_its_check() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
        for row in SETTINGS {
            assert_eq!(row.flag, row.key.replace('_', "-"), "{}", row.key);
            if let Some(d) = row.default {
                (row.set)(&mut Settings::default(), &d()).unwrap();
            }
        }
    }

    #[test]
    fn reservations_none_and_zero_are_distinct() {
        let row = row("reserved_concurrency").unwrap();
        let mut s = Settings::default();
        let none = read(row.form, row.key, "none").unwrap();
        (row.set)(&mut s, &none).unwrap();
        assert_eq!(s.reserved_concurrency, None);
        (row.set)(&mut s, &Value::from(0)).unwrap();
        assert_eq!(s.reserved_concurrency, Some(0));
        assert!(read(row.form, row.key, "lots")
            .unwrap_err()
            .contains("whole number or none"));
        assert!((row.set)(&mut s, &Value::from(1001))
            .unwrap_err()
            .contains("between 0 and 1000"));
    }

    #[test]
    fn alarm_topics_are_sns_topic_arns() {
        assert!(is_topic_arn("arn:aws:sns:us-east-1:123456789012:alerts"));
        assert!(is_topic_arn(
            "arn:aws-cn:sns:cn-north-1:123456789012:a_b-c.fifo"
        ));
        for bad in [
            "alerts",
            "arn:aws:sqs:us-east-1:123456789012:alerts",
            "arn:aws:sns:us-east-1:1234:alerts",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a/b",
            "arn:aws:sns::123456789012:alerts",
        ] {
            assert!(!is_topic_arn(bad), "{bad}");
        }
    }
}

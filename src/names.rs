//! The environment suffix and every physical name derived from it .
//!
//! The suffix is checked here, before any AWS call, so that every derived name
//! is known to fit the limits of the service that owns it.

use std::fmt;

/// Longest suffix accepted. The tightest limit is the IAM policy name
/// `webhook-processor-policy-S` and the role name (64 chars), both far above
/// `25 + 32`; the Lambda function name limit (64) leaves room as well.
pub const MAX_SUFFIX_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SuffixError {
    #[error("the environment suffix is empty; give 1-{MAX_SUFFIX_LEN} characters of [a-z0-9-]")]
    Empty,
    #[error("the environment suffix {0:?} is {1} characters long; the limit is {MAX_SUFFIX_LEN}")]
    TooLong(String, usize),
    #[error("the environment suffix {0:?} must start with a lower-case letter or a digit")]
    BadStart(String),
    #[error("the environment suffix {0:?} contains {1:?}; only a-z, 0-9 and '-' are allowed")]
    BadChar(String, char),
    #[error("derived name {name:?} is {len} characters long; {service} allows at most {max}")]
    NameTooLong {
        name: String,
        len: usize,
        service: &'static str,
        max: usize,
    },
}

/// A validated environment suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Suffix(String);

impl Suffix {
    pub fn parse(raw: &str) -> Result<Self, SuffixError> {
        if raw.is_empty() {
            return Err(SuffixError::Empty);
        }
        let len = raw.chars().count();
        if len > MAX_SUFFIX_LEN {
            return Err(SuffixError::TooLong(raw.to_owned(), len));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(SuffixError::BadChar(raw.to_owned(), bad));
        }
        if raw.starts_with('-') {
            return Err(SuffixError::BadStart(raw.to_owned()));
        }
        let suffix = Suffix(raw.to_owned());
        suffix.names().check()?;
        Ok(suffix)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn names(&self) -> Names {
        let s = &self.0;
        Names {
            function: format!("webhook-processor-{s}"),
            alias: format!("alias/webhook-processor-{s}"),
            log_group: format!("/aws/lambda/webhook-processor-{s}"),
            table: format!("transactions-{s}"),
            role: format!("webhook-processor-role-{s}"),
            role_policy: format!("webhook-processor-policy-{s}"),
            alarm_error_rate: format!("webhook-processor-{s}-error-rate"),
            alarm_duration: format!("webhook-processor-{s}-duration"),
            alarm_throttles: format!("webhook-processor-{s}-throttles"),
            alarm_table_errors: format!("transactions-{s}-system-errors"),
        }
    }
}

impl fmt::Display for Suffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Physical names of the stack's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub function: String,
    pub alias: String,
    pub log_group: String,
    pub table: String,
    pub role: String,
    pub role_policy: String,
    /// The opt-in CloudWatch alarms.
    pub alarm_error_rate: String,
    pub alarm_duration: String,
    pub alarm_throttles: String,
    pub alarm_table_errors: String,
}

impl Names {
    /// Checks each name against its service's documented length limit.
    fn check(&self) -> Result<(), SuffixError> {
        let limits: [(&String, &'static str, usize); 10] = [
            (&self.function, "Lambda (function name)", 64),
            (&self.alias, "KMS (alias name)", 256),
            (&self.log_group, "CloudWatch Logs (log group name)", 512),
            (&self.table, "DynamoDB (table name)", 255),
            (&self.role, "IAM (role name)", 64),
            (&self.role_policy, "IAM (policy name)", 128),
            (&self.alarm_error_rate, "CloudWatch (alarm name)", 255),
            (&self.alarm_duration, "CloudWatch (alarm name)", 255),
            (&self.alarm_throttles, "CloudWatch (alarm name)", 255),
            (&self.alarm_table_errors, "CloudWatch (alarm name)", 255),
        ];
        for (name, service, max) in limits {
            if name.len() > max {
                return Err(SuffixError::NameTooLong {
                    name: name.clone(),
                    len: name.len(),
                    service,
                    max,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_suffixes() {
        for ok in ["dev", "a", "0", "pr-123", &"x".repeat(32)] {
            assert!(Suffix::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_suffixes_with_a_reason() {
        assert_eq!(Suffix::parse(""), Err(SuffixError::Empty));
        assert!(matches!(
            Suffix::parse("-dev"),
            Err(SuffixError::BadStart(_))
        ));
        assert!(matches!(
            Suffix::parse("Dev"),
            Err(SuffixError::BadChar(_, 'D'))
        ));
        assert!(matches!(
            Suffix::parse("de_v"),
            Err(SuffixError::BadChar(_, '_'))
        ));
        assert!(matches!(
            Suffix::parse("dév"),
            Err(SuffixError::BadChar(_, 'é'))
        ));
        assert!(matches!(
            Suffix::parse(&"x".repeat(33)),
            Err(SuffixError::TooLong(_, 33))
        ));
    }

    #[test]
    fn derives_the_spec_names() {
        let n = Suffix::parse("dev").unwrap().names();
        assert_eq!(n.function, "webhook-processor-dev");
        assert_eq!(n.alias, "alias/webhook-processor-dev");
        assert_eq!(n.log_group, "/aws/lambda/webhook-processor-dev");
        assert_eq!(n.table, "transactions-dev");
        assert_eq!(n.role, "webhook-processor-role-dev");
        assert_eq!(n.role_policy, "webhook-processor-policy-dev");
        assert_eq!(n.alarm_error_rate, "webhook-processor-dev-error-rate");
        assert_eq!(n.alarm_table_errors, "transactions-dev-system-errors");
    }
}

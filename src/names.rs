//! The environment suffix and every physical name derived from it .
//!
//! The suffix is checked here, before any AWS call, so that every derived name
//! is known to fit the limits of the service that owns it.

use std::fmt;

/// Longest suffix accepted. The tightest limits are the IAM role's and the
/// Lambda function's names (64 characters): `webhook-processor-role-` is 23.
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
        Ok(Suffix(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Suffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
}

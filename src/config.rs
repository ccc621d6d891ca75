//! Checked settings, from the command line. Everything here is validated
//! before any AWS call.

use crate::cli::Global;
use crate::names::{Suffix, SuffixError};
use crate::providers::Connection;
use crate::state::{Backend, StateError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Suffix(#[from] SuffixError),
    #[error("--parallelism must be between 1 and {MAX_PARALLELISM}, not {0}")]
    Parallelism(usize),
    #[error("--kms-deletion-window-days must be between 7 and 30 (AWS's limits), not {0}")]
    DeletionWindow(i32),
    #[error("--endpoint-url {0:?} is not an http:// or https:// URL")]
    Endpoint(String),
    #[error("--replace {name:?}: no such resource; the stack's resources are {}", crate::program::keys().join(", "))]
    Replace { name: String },
    #[error("--lock-timeout {0:?} is not a duration such as 0s, 30s, 5m or 1m30s")]
    LockTimeout(String),
    #[error(transparent)]
    Backend(#[from] StateError),
}

pub const MAX_PARALLELISM: usize = 64;

#[derive(Debug, Clone)]
pub struct Config {
    pub suffix: Suffix,
    pub connection: Connection,
    /// Where state lives.
    pub backend: Backend,
    pub json: bool,
    pub verbose: bool,
    /// How long to wait for another run's lock.
    pub lock_timeout: Duration,
    /// Whether plans are coloured.
    pub color: bool,
}

impl Config {
    pub fn from_global(g: &Global) -> Result<Config, ConfigError> {
        let suffix = Suffix::parse(&g.suffix)?;
        crate::program::check_names(&suffix)?;
        if let Some(u) = &g.endpoint_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::Endpoint(u.clone()));
            }
        }
        Ok(Config {
            backend: match (&g.backend, &g.state_dir) {
                (Some(url), _) => Backend::parse(url)?,
                (None, Some(dir)) => Backend::File(dir.clone()),
                (None, None) => Backend::File("state".into()),
            },
            suffix,
            connection: Connection {
                region: g.region.clone(),
                profile: g.profile.clone(),
                endpoint_url: g.endpoint_url.clone(),
            },
            json: g.json,
            verbose: g.verbose,
            color: match g.color {
                crate::cli::ColorChoice::Always => true,
                crate::cli::ColorChoice::Never => false,
                crate::cli::ColorChoice::Auto => {
                    std::io::IsTerminal::is_terminal(&std::io::stdout())
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            },
            lock_timeout: parse_duration(&g.lock_timeout)
                .ok_or_else(|| ConfigError::LockTimeout(g.lock_timeout.clone()))?,
        })
    }
}

/// Where the function's code comes from, checked at the edge.
#[derive(Debug, Clone)]
pub enum CodeSource {
    /// A prebuilt zip (`--handler-zip`).
    Zip(std::path::PathBuf),
    /// `handler/` of a checkout, built for arm64 (`--handler-dir`, else the
    /// checkout that holds the working directory).
    Checkout(Option<std::path::PathBuf>),
}

impl CodeSource {
    pub fn from_cli(c: &crate::cli::Code) -> Self {
        match &c.handler_zip {
            Some(zip) => CodeSource::Zip(zip.clone()),
            None => CodeSource::Checkout(c.handler_dir.clone()),
        }
    }
}

/// How a changing command goes ahead: confirmed or not, and how many
/// resources at once.
#[derive(Debug, Clone, Copy)]
pub struct Confirmation {
    pub yes: bool,
    pub parallelism: usize,
}

impl Confirmation {
    pub fn from_cli(c: &crate::cli::Confirm) -> Result<Self, ConfigError> {
        Ok(Confirmation {
            yes: c.yes,
            parallelism: check_parallelism(c.parallelism)?,
        })
    }
}

/// A duration as Terraform's `-lock-timeout` takes it: numbers with units
/// `ms`, `s`, `m` or `h`, e.g. `0s`, `500ms`, `1m30s`; at most a day.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let one = match &rest[..unit] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return None,
        };
        rest = &rest[unit..];
        total = total.checked_add(one.checked_mul(u32::try_from(n).ok()?)?)?;
    }
    (total <= Duration::from_secs(86_400)).then_some(total)
}

/// `--replace` names: each must be one of the program's resources.
pub fn check_replace(names: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for name in names {
        if crate::program::resource(name).is_none() {
            return Err(ConfigError::Replace { name: name.clone() });
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

pub fn check_parallelism(n: usize) -> Result<usize, ConfigError> {
    if (1..=MAX_PARALLELISM).contains(&n) {
        Ok(n)
    } else {
        Err(ConfigError::Parallelism(n))
    }
}

pub fn check_deletion_window(days: i32) -> Result<i32, ConfigError> {
    if (7..=30).contains(&days) {
        Ok(days)
    } else {
        Err(ConfigError::DeletionWindow(days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_terraform_takes_them() {
        let d = |s| parse_duration(s);
        assert_eq!(d("0s"), Some(Duration::ZERO));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "5", "s", "5x", "-1s", "1.5s", "25h", "99999999999s"] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }
}

//! The function's environment, read once at cold start.

use std::env;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: required; the function cannot do anything useful without it.
    pub table_name: String,
    /// `ENVIRONMENT_SUFFIX`: only logged, to tell environments apart.
    pub environment: Option<String>,
    /// `LOG_LEVEL`: `info` when unset.
    pub log_level: String,
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable TABLE_NAME must be set to the transactions table name")]
pub struct ConfigError;

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| env::var(name).ok())
    }

    /// `from_env` over any lookup, so tests do not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Config {
            table_name: non_empty("TABLE_NAME").ok_or(ConfigError)?,
            environment: non_empty("ENVIRONMENT_SUFFIX"),
            log_level: non_empty("LOG_LEVEL").unwrap_or_else(|| "info".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_requirements() {
        let config =
            Config::from_lookup(|name| (name == "TABLE_NAME").then(|| "transactions-dev".into()))
                .unwrap();
        assert_eq!(config.table_name, "transactions-dev");
        assert_eq!(config.environment, None);
        assert_eq!(config.log_level, "info");
        assert!(Config::from_lookup(|_| None).is_err());
        assert!(Config::from_lookup(|_| Some(" ".into())).is_err());
    }
}

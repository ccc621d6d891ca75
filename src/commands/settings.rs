//! `config`, `config set/get/unset`: the stack's settings, saved with its
//! state. Writes hold the stack's lock; reads take none.

use super::session::Session;
use super::{emit, ExitStatus};
use crate::cli::ConfigAction;
use crate::config::Config;
use crate::settings::{self, Source, Used, Values};
use crate::state::State;
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

pub async fn run(config: &Config, action: Option<ConfigAction>) -> Result<ExitStatus> {
    let Session { aws, store } = Session::open(config).await;
    match action {
        None => {
            let saved = saved(store.load().await?);
            let (_, used) = settings::resolve(&saved, &Values::new())?;
            emit(config, &List(used));
        }
        Some(ConfigAction::Get { key }) => {
            settings::parse_key(&key)?;
            let saved = saved(store.load().await?);
            let (_, used) = settings::resolve(&saved, &Values::new())?;
            match used.get(&key) {
                Some(u) => emit(config, &One(u)),
                None => bail!("{key} is not set and has no default"),
            }
        }
        Some(ConfigAction::Set { key, value }) => {
            let value = settings::parse(&key, &value)?;
            let lease = store.lock("config set", config.lock_timeout).await?;
            let mut state = store
                .load()
                .await?
                .unwrap_or_else(|| State::new(config.suffix.as_str(), &aws.region, ""));
            crate::state::check_belongs(
                &state,
                &store.location(),
                config.suffix.as_str(),
                &aws.region,
                None,
            )?;
            let mut next = state.settings.clone();
            next.insert(key.clone(), value.clone());
            // The whole set must still make a valid stack.
            settings::resolve(&next, &Values::new())?;
            if state.settings.get(&key) != Some(&value) {
                state.settings = next;
                store.save(&mut state, &lease).await?;
            }
            emit(
                config,
                &Changed {
                    key,
                    value: Some(value),
                    was_set: true,
                    location: store.location(),
                },
            );
        }
        Some(ConfigAction::Unset { key }) => {
            settings::parse_key(&key)?;
            let lease = store.lock("config unset", config.lock_timeout).await?;
            let mut was_set = false;
            if let Some(mut state) = store.load().await? {
                if state.settings.remove(&key).is_some() {
                    store.save(&mut state, &lease).await?;
                    was_set = true;
                }
            }
            emit(
                config,
                &Changed {
                    key,
                    value: None,
                    was_set,
                    location: store.location(),
                },
            );
        }
    }
    Ok(ExitStatus::Success)
}

fn saved(state: Option<State>) -> Values {
    state.map(|s| s.settings).unwrap_or_default()
}

/// `config`: every setting, `(default)` marking those not saved.
#[derive(Serialize)]
#[serde(transparent)]
struct List(BTreeMap<String, Used>);

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.0.keys().map(String::len).max().unwrap_or(0);
        for (k, u) in &self.0 {
            let note = match u.source {
                Source::Default => "  (default)",
                _ => "",
            };
            writeln!(f, "{k:<width$}  {}{note}", settings::display(&u.value))?;
        }
        Ok(())
    }
}

/// `config get KEY`: the value alone (a string bare), or as JSON with its
/// source.
#[derive(Serialize)]
#[serde(transparent)]
struct One<'a>(&'a Used);

impl fmt::Display for One<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", settings::display(&self.0.value))
    }
}

/// `config set` (with the value saved) and `config unset` (without).
#[derive(Serialize)]
struct Changed {
    key: String,
    /// The value saved; `None` for unset.
    value: Option<serde_json::Value>,
    /// For unset: whether there was a saved value to remove.
    was_set: bool,
    location: String,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        match (&self.value, self.was_set) {
            (Some(v), _) => writeln!(
                f,
                "{key} = {} (saved in {})",
                settings::display(v),
                self.location
            ),
            (None, true) => writeln!(f, "{key} unset; its default applies again."),
            (None, false) => writeln!(f, "{key} was not set."),
        }
    }
}

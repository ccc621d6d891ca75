//! `config`, `config set/get/unset`: the stack's settings, saved with its
//! state (SPEC §5). Writes hold the stack's lock; reads take none.

use super::{connect, print_json, ExitStatus};
use crate::cli::ConfigAction;
use crate::config::Config;
use crate::settings::{self, Source, Values};
use crate::state::State;
use anyhow::{bail, Result};

pub async fn run(config: &Config, action: Option<ConfigAction>) -> Result<ExitStatus> {
    let aws = connect(config).await;
    let store = config.backend.open(&config.suffix, &aws);
    match action {
        None => {
            let saved = saved(store.load().await?);
            let (_, used) = settings::resolve(&saved, &Values::new())?;
            if config.json {
                print_json(&used);
            } else {
                let width = used.keys().map(String::len).max().unwrap_or(0);
                for (k, u) in &used {
                    let note = match u.source {
                        Source::Default => "  (default)",
                        _ => "",
                    };
                    println!("{k:<width$}  {}{note}", settings::display(&u.value));
                }
            }
        }
        Some(ConfigAction::Get { key }) => {
            settings::parse_key(&key)?;
            let saved = saved(store.load().await?);
            let (_, used) = settings::resolve(&saved, &Values::new())?;
            match used.get(&key) {
                Some(u) if config.json => print_json(u),
                Some(u) => println!("{}", settings::display(&u.value)),
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
            if !config.json {
                println!(
                    "{key} = {} (saved in {})",
                    settings::display(&value),
                    store.location()
                );
            }
        }
        Some(ConfigAction::Unset { key }) => {
            settings::parse_key(&key)?;
            let lease = store.lock("config unset", config.lock_timeout).await?;
            let Some(mut state) = store.load().await? else {
                println!("{key} was not set.");
                return Ok(ExitStatus::Success);
            };
            if state.settings.remove(&key).is_some() {
                store.save(&mut state, &lease).await?;
                println!("{key} unset; its default applies again.");
            } else {
                println!("{key} was not set.");
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn saved(state: Option<State>) -> Values {
    state.map(|s| s.settings).unwrap_or_default()
}

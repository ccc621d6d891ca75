//! `force-unlock [LOCK_ID]`: remove a lock left by a run that died.

use super::session::Session;
use super::ExitStatus;
use crate::config::Config;
use crate::state::Unlocked;
use anyhow::Result;

pub async fn run(config: &Config, lock_id: Option<&str>) -> Result<ExitStatus> {
    let session = Session::open(config).await;
    let location = session.store.location();
    match session.store.force_unlock(lock_id).await? {
        Unlocked::Cleared(h) => {
            eprintln!("Removed the lock of {location} left by {h}, which is no longer running.")
        }
        Unlocked::NotLocked => eprintln!("{location} is not locked."),
    }
    Ok(ExitStatus::Success)
}

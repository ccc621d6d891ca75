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
        Unlocked::Changed(h) => anyhow::bail!(
            "the lock of {location} (held by {h}) changed while it was being removed: its holder \
             released it or another run took it. Nothing was removed; run `force-unlock` again if a \
             dead run still holds it"
        ),
    }
    Ok(ExitStatus::Success)
}

//! The local lock: an OS file lock on `<suffix>.json.lock`.
//!
//! The kernel releases the lock when its holder exits, however it exits, so
//! a run killed with `kill -9` never leaves a lock for anyone to clear on
//! this host. The file also names its holder (pid, host, start time,
//! command) for the messages of a run that has to wait.
//!
//! Only the holder removes the file, and only while it still holds the lock;
//! a run that locked a file which was removed meanwhile (its holder released
//! it between our open and our lock) sees that the path now names another
//! file, or none, and starts again.

use super::{Patience, StateError, Unlocked};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Names this holding of the lock (remote locks are removed by it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub pid: u32,
    pub host: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    pub started: String,
    pub command: String,
}

impl LockHolder {
    /// This process, about to run `command`.
    pub fn me(command: &str) -> LockHolder {
        let (pid, host, user) = crate::ambient::process();
        LockHolder {
            id: String::new(),
            pid,
            host,
            user,
            started: crate::ambient::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command: command.into(),
        }
    }
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)?;
        if !self.user.is_empty() {
            write!(f, " (user {})", self.user)?;
        }
        write!(f, " since {}", self.started)?;
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&self.started) {
            let age = crate::ambient::now()
                .signed_duration_since(t)
                .num_seconds()
                .max(0);
            let (h, m, s) = (age / 3600, age / 60 % 60, age % 60);
            match (h, m) {
                (0, 0) => write!(f, " ({s}s ago)")?,
                (0, _) => write!(f, " ({m}m {s}s ago)")?,
                _ => write!(f, " ({h}h {m}m ago)")?,
            }
        }
        write!(f, " (command: {})", self.command)?;
        if !self.id.is_empty() {
            write!(f, ", lock id {}", self.id)?;
        }
        Ok(())
    }
}

/// Held while a command may write state; released on drop (and by the
/// kernel if the process dies first).
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: File,
}

/// Whether `file` is still the file at `path` (same inode on the same device).
fn still_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Lock {
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One attempt: the lock, or the holder that has it.
    fn try_once(path: &Path, me: &LockHolder) -> Result<Result<Lock, LockHolder>, std::io::Error> {
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(Err(read_holder(path))),
                Err(TryLockError::Error(e)) => return Err(e),
            }
            if !still_at(&file, path) {
                // Its holder removed it as we opened it: try the new one.
                continue;
            }
            let body = serde_json::to_vec(me).expect("holder serialises");
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(&body)?;
            file.sync_all()?;
            return Ok(Ok(Lock {
                path: path.to_owned(),
                file,
            }));
        }
    }

    /// Takes the lock, waiting up to `timeout` (with backoff from 50 ms to
    /// 1 s) while another run holds it.
    pub async fn acquire(
        path: &Path,
        command: &str,
        timeout: Duration,
    ) -> Result<Lock, StateError> {
        let path = path.to_owned();
        let io = |e: std::io::Error| StateError::LockIo {
            location: path.display().to_string(),
            detail: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let me = LockHolder::me(command);
        let mut patience =
            Patience::new(timeout, Duration::from_millis(50), Duration::from_secs(1));
        loop {
            match Self::try_once(&path, &me).map_err(io)? {
                Ok(lock) => return Ok(lock),
                Err(holder) => patience.refused(holder).await?,
            }
        }
    }
}

fn read_holder(path: &Path) -> LockHolder {
    fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        // A lock file being written this instant, or damaged: name what we can.
        .unwrap_or(LockHolder {
            id: String::new(),
            user: String::new(),
            pid: 0,
            host: "unknown".into(),
            started: "unknown".into(),
            command: "unknown".into(),
        })
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held, so that no other run's lock is removed;
        // the lock itself goes when `file` is closed.
        if still_at(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Clears a lock file left by a run that died. A lock held by a running
/// process is refused: the kernel would keep it anyway, and the run holding
/// it may be writing state.
pub fn force_unlock(path: &Path) -> Result<Unlocked, StateError> {
    if !path.exists() {
        return Ok(Unlocked::NotLocked);
    }
    let holder = read_holder(path);
    let me = LockHolder::me("force-unlock");
    let io = |e: std::io::Error| StateError::LockIo {
        location: path.display().to_string(),
        detail: e.to_string(),
    };
    match Lock::try_once(path, &me).map_err(io)? {
        // Dropping our lock removes the file.
        Ok(_lock) => Ok(Unlocked::Cleared(holder)),
        Err(holder) => Err(StateError::HeldByLiveProcess(Box::new(holder))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ws-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn a_second_holder_is_refused_with_the_first_named() {
        let file = tmp("second").join("dev.json.lock");
        let lock = Lock::acquire(&file, "apply", Duration::ZERO).await.unwrap();
        let err = Lock::acquire(&file, "apply", Duration::ZERO)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("command: apply"), "{msg}");
        assert!(msg.contains("--lock-timeout"), "{msg}");
        assert!(matches!(
            force_unlock(&file),
            Err(StateError::HeldByLiveProcess(_))
        ));
        assert!(file.exists(), "a held lock is never removed");
        drop(lock);
        assert!(!file.exists());
        assert_eq!(force_unlock(&file).unwrap(), Unlocked::NotLocked);
    }

    #[tokio::test]
    async fn a_lock_file_left_by_a_dead_run_is_taken_over() {
        // A file naming a holder that no longer runs, with no OS lock on
        // it: what `kill -9` leaves behind.
        let file = tmp("dead").join("dev.json.lock");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        let dead = LockHolder {
            id: String::new(),
            user: String::new(),
            pid: u32::MAX - 1,
            host: crate::ambient::process().1,
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        fs::write(&file, serde_json::to_vec(&dead).unwrap()).unwrap();
        let lock = Lock::acquire(&file, "plan", Duration::ZERO).await.unwrap();
        assert_eq!(read_holder(lock.path()).command, "plan");
        drop(lock);
        fs::write(&file, serde_json::to_vec(&dead).unwrap()).unwrap();
        assert_eq!(force_unlock(&file).unwrap(), Unlocked::Cleared(dead));
        assert!(!file.exists());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_run_gets_the_lock_when_the_holder_releases_it() {
        let file = tmp("wait").join("dev.json.lock");
        let lock = Lock::acquire(&file, "apply", Duration::ZERO).await.unwrap();
        let waiter = {
            let file = file.clone();
            tokio::spawn(async move { Lock::acquire(&file, "plan", Duration::from_secs(60)).await })
        };
        // With time paused, the waiter runs until it sleeps: it has been
        // refused at least once and is waiting for its next attempt.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "refused while the lock is held");
        drop(lock);
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(read_holder(got.path()).command, "plan");
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_gives_up_at_the_timeout_and_says_how_long_it_waited() {
        let file = tmp("timeout").join("dev.json.lock");
        let _lock = Lock::acquire(&file, "apply", Duration::ZERO).await.unwrap();
        let err = Lock::acquire(&file, "plan", Duration::from_secs(3))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("after waiting 3s"), "{err}");
    }
}

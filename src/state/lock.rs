//! The local lock: an OS file lock on `<suffix>.json.lock` (SPEC §3).
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

use super::{StateError, StateFile};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
// tokio's clock, so that a wait can be tested with time paused.
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub command: String,
}

/// Held while a command may write state; released on drop (and by the
/// kernel if the process dies first).
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: File,
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into())
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
        file: &StateFile,
        command: &str,
        timeout: Duration,
    ) -> Result<Lock, StateError> {
        let path = file.lock_path();
        let io = |source| StateError::LockIo {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let me = LockHolder {
            pid: std::process::id(),
            host: hostname(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command: command.into(),
        };
        let start = Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut announced = false;
        loop {
            match Self::try_once(&path, &me).map_err(io)? {
                Ok(lock) => return Ok(lock),
                Err(holder) => {
                    let waited = start.elapsed();
                    if waited >= timeout {
                        return Err(StateError::Locked {
                            holder: Box::new(holder),
                            waited,
                        });
                    }
                    if !announced {
                        announced = true;
                        eprintln!(
                            "Waiting for the state lock held by pid {} on {} (command: {}), for up to {}s...",
                            holder.pid,
                            holder.host,
                            holder.command,
                            timeout.as_secs()
                        );
                    }
                    tokio::time::sleep(backoff.min(timeout - waited)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
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

/// What `force-unlock` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlocked {
    /// No lock file.
    NotLocked,
    /// A lock file whose holder had died (the kernel had already released
    /// its lock): the file is removed.
    Cleared(LockHolder),
}

/// Clears a lock file left by a run that died. A lock held by a running
/// process is refused: the kernel would keep it anyway, and the run holding
/// it may be writing state.
pub fn force_unlock(file: &StateFile) -> Result<Unlocked, StateError> {
    let path = file.lock_path();
    if !path.exists() {
        return Ok(Unlocked::NotLocked);
    }
    let holder = read_holder(&path);
    let me = LockHolder {
        pid: std::process::id(),
        host: hostname(),
        started: String::new(),
        command: "force-unlock".into(),
    };
    let io = |source| StateError::LockIo {
        path: path.clone(),
        source,
    };
    match Lock::try_once(&path, &me).map_err(io)? {
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
        let file = StateFile::new(&tmp("second"), "dev");
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
        assert!(file.lock_path().exists(), "a held lock is never removed");
        drop(lock);
        assert!(!file.lock_path().exists());
        assert_eq!(force_unlock(&file).unwrap(), Unlocked::NotLocked);
    }

    #[tokio::test]
    async fn a_lock_file_left_by_a_dead_run_is_taken_over() {
        // A file naming a holder that no longer runs, with no OS lock on
        // it: what `kill -9` leaves behind.
        let file = StateFile::new(&tmp("dead"), "dev");
        fs::create_dir_all(file.lock_path().parent().unwrap()).unwrap();
        let dead = LockHolder {
            pid: u32::MAX - 1,
            host: hostname(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        fs::write(file.lock_path(), serde_json::to_vec(&dead).unwrap()).unwrap();
        let lock = Lock::acquire(&file, "plan", Duration::ZERO).await.unwrap();
        assert_eq!(read_holder(lock.path()).command, "plan");
        drop(lock);
        fs::write(file.lock_path(), serde_json::to_vec(&dead).unwrap()).unwrap();
        assert_eq!(force_unlock(&file).unwrap(), Unlocked::Cleared(dead));
        assert!(!file.lock_path().exists());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_run_gets_the_lock_when_the_holder_releases_it() {
        let file = StateFile::new(&tmp("wait"), "dev");
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
        let file = StateFile::new(&tmp("timeout"), "dev");
        let _lock = Lock::acquire(&file, "apply", Duration::ZERO).await.unwrap();
        let err = Lock::acquire(&file, "plan", Duration::from_secs(3))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("after waiting 3s"), "{err}");
    }
}

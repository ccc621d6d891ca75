//! A lock file beside the state file: created exclusively, naming its holder,
//! removed when the holder drops it.

use super::{StateError, StateFile};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub command: String,
}

/// Held while a command may write state; released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Whether a process with this pid exists on this machine.
fn process_alive(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
}

impl Lock {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub fn acquire(file: &StateFile, command: &str) -> Result<Lock, StateError> {
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
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                let body = serde_json::to_vec(&me).expect("holder serialises");
                f.write_all(&body).and_then(|_| f.sync_all()).map_err(io)?;
                Ok(Lock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = read_holder(&path);
                if holder.host == me.host && !process_alive(holder.pid) {
                    Err(StateError::StaleLock {
                        path,
                        suffix: file.suffix.clone(),
                        holder: Box::new(holder),
                    })
                } else {
                    Err(StateError::Locked(Box::new(holder)))
                }
            }
            Err(e) => Err(io(e)),
        }
    }
}

fn read_holder(path: &PathBuf) -> LockHolder {
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
        let _ = fs::remove_file(&self.path);
    }
}

/// Removes a lock left by a run that died. Returns the holder it removed.
pub fn force_unlock(file: &StateFile) -> Result<Option<LockHolder>, StateError> {
    let path = file.lock_path();
    if !path.exists() {
        return Ok(None);
    }
    let holder = read_holder(&path);
    fs::remove_file(&path).map_err(|source| StateError::LockIo { path, source })?;
    Ok(Some(holder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_named_and_a_dead_one_is_stale() {
        let dir = std::env::temp_dir().join(format!("ws-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let file = StateFile::new(&dir, "dev");
        let lock = Lock::acquire(&file, "apply").unwrap();
        let err = Lock::acquire(&file, "apply").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("command: apply"), "{msg}");
        drop(lock);
        assert!(!file.lock_path().exists());

        // A lock whose holder is gone.
        let dead = LockHolder {
            pid: u32::MAX - 1,
            host: hostname(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        fs::write(file.lock_path(), serde_json::to_vec(&dead).unwrap()).unwrap();
        let err = Lock::acquire(&file, "apply").unwrap_err();
        assert!(matches!(err, StateError::StaleLock { .. }), "{err}");
        assert!(err.to_string().contains("force-unlock --suffix dev"));
        assert_eq!(force_unlock(&file).unwrap(), Some(dead));
        assert!(Lock::acquire(&file, "apply").is_ok());
    }
}

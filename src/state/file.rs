//! The state file (SPEC §3): what was last applied, per resource.
//!
//! Written atomically (temp file, fsync, rename, fsync of the directory) with
//! a backup of the previous version, mode 0600, under a lock (see `lock.rs`).

mod lock;

pub use lock::{force_unlock, Lock, LockHolder, Unlocked};

pub use crate::engine::state::{ResourceState, State, FORMAT_VERSION};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is not valid state JSON ({detail}); it was left untouched. Restore it from {backup} or fix it by hand")]
    Corrupt {
        path: PathBuf,
        backup: PathBuf,
        detail: String,
    },
    #[error("state file {path} has format version {found}; this build understands version {FORMAT_VERSION}. It was left untouched")]
    UnsupportedVersion { path: PathBuf, found: u64 },
    #[error(
        "state file {path} belongs to {field} {found:?}, not {expected:?}; it was left untouched"
    )]
    Mismatch {
        path: PathBuf,
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("cannot write state file {path}: {source}; the previous version is intact")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state is locked by pid {} on {} since {} (command: {}){}; wait for it to finish, or give --lock-timeout DURATION (e.g. 5m) to wait", .holder.pid, .holder.host, .holder.started, .holder.command, if .waited.is_zero() { String::new() } else { format!(", still after waiting {}s", .waited.as_secs()) })]
    Locked {
        holder: Box<LockHolder>,
        waited: std::time::Duration,
    },
    #[error("the lock is held by a running process, pid {} on {} since {} (command: {}); it is released when that run ends, so there is nothing to force", .0.pid, .0.host, .0.started, .0.command)]
    HeldByLiveProcess(Box<LockHolder>),
    #[error("cannot take state lock {path}: {source}")]
    LockIo {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Refuses a state file written for another stack.
pub fn check_belongs(
    state: &State,
    path: &Path,
    suffix: &str,
    region: &str,
    account: Option<&str>,
) -> Result<(), StateError> {
    let mismatch = |field, found: &str, expected: &str| StateError::Mismatch {
        path: path.to_owned(),
        field,
        found: found.into(),
        expected: expected.into(),
    };
    if state.suffix != suffix {
        return Err(mismatch("suffix", &state.suffix, suffix));
    }
    if state.region != region {
        return Err(mismatch("region", &state.region, region));
    }
    if let Some(account) = account {
        if state.account != account {
            return Err(mismatch("account", &state.account, account));
        }
    }
    Ok(())
}

/// Where one suffix's state lives.
#[derive(Debug, Clone)]
pub struct StateFile {
    pub path: PathBuf,
}

impl StateFile {
    pub fn new(dir: &Path, suffix: &str) -> Self {
        StateFile {
            path: dir.join(format!("{suffix}.json")),
        }
    }

    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".backup")
    }

    pub fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lock")
    }

    /// Reads the state; `None` when there is no state file yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let corrupt = |detail: String| StateError::Corrupt {
            path: self.path.clone(),
            backup: self.backup_path(),
            detail,
        };
        // Check the version first so that a newer format is reported as
        // such, not as a parse error of its unknown fields.
        let raw: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match raw.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(StateError::UnsupportedVersion {
                    path: self.path.clone(),
                    found,
                })
            }
            None => return Err(corrupt("no numeric \"version\" field".into())),
        }
        serde_json::from_value(raw)
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }

    /// Bumps the serial and writes the state atomically, keeping the previous
    /// version as the backup. On error the previous file is intact.
    pub fn save(&self, state: &mut State, _lock: &Lock) -> Result<(), StateError> {
        state.serial += 1;
        let result = self.write_atomically(state);
        if result.is_err() {
            state.serial -= 1;
        }
        result
    }

    fn write_atomically(&self, state: &State) -> Result<(), StateError> {
        let err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(state).expect("state serialises");
        json.push(b'\n');
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(err)?;
        }
        if self.path.exists() {
            fs::copy(&self.path, sibling(&self.path, ".backup.tmp")).map_err(err)?;
            File::open(sibling(&self.path, ".backup.tmp"))
                .and_then(|f| f.sync_all())
                .map_err(err)?;
            fs::rename(sibling(&self.path, ".backup.tmp"), self.backup_path()).map_err(err)?;
        }
        let tmp = sibling(&self.path, ".tmp");
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(&json).and_then(|_| f.sync_all()).map_err(err)?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(err)?;
        sync_dir(&self.path);
        Ok(())
    }
}

/// Suffixes of the stacks that have a state file in `dir`, sorted. Files
/// whose name is not a valid suffix are not state files of ours.
pub fn list_suffixes(dir: &Path) -> Result<Vec<crate::names::Suffix>, StateError> {
    let entries = fs::read_dir(dir).map_err(|source| StateError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut out: Vec<crate::names::Suffix> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            crate::names::Suffix::parse(name.strip_suffix(".json")?).ok()
        })
        .collect();
    out.sort();
    Ok(out)
}

fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

/// Makes the rename durable. Best effort: some filesystems refuse to fsync a
/// directory, and the rename itself has already happened.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ws-state-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn saves_atomically_with_backup_mode_0600_and_rising_serial() {
        let dir = tmpdir("save");
        let file = StateFile::new(&dir, "dev");
        let lock = futures_util::FutureExt::now_or_never(Lock::acquire(
            &file,
            "test",
            std::time::Duration::ZERO,
        ))
        .expect("no wait")
        .unwrap();
        assert_eq!(file.load().unwrap(), None);
        let mut st = State::new("dev", "us-east-1", "123456789012");
        file.save(&mut st, &lock).unwrap();
        file.save(&mut st, &lock).unwrap();
        assert_eq!(st.serial, 2);
        let loaded = file.load().unwrap().unwrap();
        assert_eq!(loaded, st);
        let mode = fs::metadata(&file.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let backup: State = serde_json::from_slice(&fs::read(file.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
        assert!(!sibling(&file.path, ".tmp").exists());
    }

    #[test]
    fn corrupt_and_unknown_version_files_are_refused_and_untouched() {
        let dir = tmpdir("corrupt");
        let file = StateFile::new(&dir, "dev");
        for (content, want) in [
            (
                &b"{\"version\": 1, \"lineage\": "[..],
                "not valid state JSON",
            ),
            (&b"{\"version\": 99}"[..], "format version 99"),
            (&b"{\"lineage\": \"x\"}"[..], "no numeric"),
        ] {
            fs::write(&file.path, content).unwrap();
            let err = file.load().unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
            assert_eq!(fs::read(&file.path).unwrap(), content);
        }
    }

    #[test]
    fn a_state_of_another_stack_is_refused() {
        let st = State::new("dev", "us-east-1", "111111111111");
        let p = Path::new("state/dev.json");
        assert!(check_belongs(&st, p, "dev", "us-east-1", Some("111111111111")).is_ok());
        let err = check_belongs(&st, p, "prod", "us-east-1", None).unwrap_err();
        assert!(
            err.to_string().contains("suffix \"dev\", not \"prod\""),
            "{err}"
        );
        let err = check_belongs(&st, p, "dev", "us-east-1", Some("222222222222")).unwrap_err();
        assert!(err.to_string().contains("account"), "{err}");
    }
}

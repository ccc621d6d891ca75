//! The local store (`file://DIR`): `DIR/S.json`, written
//! atomically (temp file, fsync, rename, fsync of the directory) with a
//! backup of the previous version, mode 0600, under an OS lock (`lock.rs`).

use super::lock::Lock;
use super::{decode, encode, Lease, State, StateError, StateStore, Unlocked};
use futures_util::future::BoxFuture;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One stack's state file.
#[derive(Debug, Clone)]
pub struct FileStore {
    pub path: PathBuf,
}

impl FileStore {
    pub fn new(dir: &Path, suffix: &str) -> Self {
        FileStore {
            path: dir.join(format!("{suffix}.json")),
        }
    }

    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".backup")
    }

    pub fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lock")
    }

    fn location_string(&self) -> String {
        self.path.display().to_string()
    }

    /// Reads the state; `None` when there is no state file yet.
    pub fn load_now(&self) -> Result<Option<State>, StateError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StateError::Read {
                    location: self.location_string(),
                    detail: e.to_string(),
                })
            }
        };
        decode(
            &bytes,
            &self.location_string(),
            &self.backup_path().display().to_string(),
        )
        .map(Some)
    }

    /// Bumps the serial and writes the state atomically, keeping the previous
    /// version as the backup. On error the previous file is intact.
    pub fn save_now(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        let result = self.write_atomically(state);
        if result.is_err() {
            state.serial -= 1;
        }
        result
    }

    fn write_atomically(&self, state: &State) -> Result<(), StateError> {
        let err = |e: std::io::Error| StateError::Write {
            location: self.location_string(),
            detail: e.to_string(),
        };
        let json = encode(state);
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

impl StateStore for FileStore {
    fn location(&self) -> String {
        self.location_string()
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<State>, StateError>> {
        Box::pin(std::future::ready(self.load_now()))
    }

    fn save<'a>(
        &'a self,
        state: &'a mut State,
        _lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(std::future::ready(self.save_now(state)))
    }

    fn lock<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Lease, StateError>> {
        Box::pin(async move {
            let lock = Lock::acquire(&self.lock_path(), command, timeout).await?;
            Ok(Lease {
                _held: Box::new(lock),
            })
        })
    }

    fn force_unlock<'a>(
        &'a self,
        _id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Unlocked, StateError>> {
        Box::pin(std::future::ready(super::lock::force_unlock(
            &self.lock_path(),
        )))
    }
}

/// Suffixes of the stacks that have a state file in `dir`, sorted. Files
/// whose name is not a valid suffix are not state files of ours.
pub(super) fn list_suffixes(dir: &Path) -> Result<Vec<crate::names::Suffix>, StateError> {
    let entries = fs::read_dir(dir).map_err(|e| StateError::Read {
        location: dir.display().to_string(),
        detail: e.to_string(),
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
        let file = FileStore::new(&dir, "dev");
        assert_eq!(file.load_now().unwrap(), None);
        let mut st = State::new("dev", "us-east-1", "123456789012");
        file.save_now(&mut st).unwrap();
        file.save_now(&mut st).unwrap();
        assert_eq!(st.serial, 2);
        let loaded = file.load_now().unwrap().unwrap();
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
        let file = FileStore::new(&dir, "dev");
        for (content, want) in [
            (
                &b"{\"version\": 1, \"lineage\": "[..],
                "not valid state JSON",
            ),
            (&b"{\"version\": 99}"[..], "format version 99"),
            (&b"{\"lineage\": \"x\"}"[..], "no numeric"),
        ] {
            fs::write(&file.path, content).unwrap();
            let err = file.load_now().unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
            assert_eq!(fs::read(&file.path).unwrap(), content);
        }
    }
}

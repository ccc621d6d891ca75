//! The handler's zip, reused while nothing it is built from has changed, so
//! that `plan` and `apply` without `--handler-zip` do not run the cross build
//! (even a no-op check of it) on every run.
//!
//! The key is a SHA-256 over everything the arm64 executable is made from:
//! `handler/Cargo.toml` and every file under `handler/src`, the workspace's
//! `Cargo.toml` and `Cargo.lock` (profiles, versions), the build script, and
//! the toolchain it uses (Debian's `rustc`: its size and modification time;
//! the arm64 standard library's version stamp; `RUSTC` if set). Content, not
//! modification times, for the sources: `touch` alone reuses the zip, any
//! edit rebuilds it. A zip is only stored after the build script succeeded
//! and its executable was checked, so a cached zip is always a checked one.

use super::{build_handler, package_executable, Package, PackageError};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// How many zips to keep (older ones are removed).
const KEEP: usize = 3;

/// Files, relative to the checkout, whose content goes into the key.
const INPUTS: [&str; 4] = [
    "handler/Cargo.toml",
    "Cargo.toml",
    "Cargo.lock",
    super::BUILD_SCRIPT,
];

/// Toolchain files whose size and modification time go into the key.
const TOOLCHAIN: [&str; 2] = [
    "/usr/bin/rustc",
    "/usr/lib/rustlib/aarch64-unknown-linux-gnu/.webhook-stack-libstd-version",
];

fn io(path: &Path) -> impl Fn(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Read {
        path: path.to_owned(),
        source,
    }
}

/// Every file below `dir`, sorted, for a stable key.
fn files_below(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PackageError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.path()).map_err(io(dir)))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_below(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The key of the zip that building `root`'s handler would give.
pub fn key(root: &Path) -> Result<String, PackageError> {
    let mut hash = Sha256::new();
    let mut files: Vec<PathBuf> = INPUTS.iter().map(|f| root.join(f)).collect();
    files_below(&root.join("handler/src"), &mut files)?;
    for path in files {
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let content = fs::read(&path).map_err(io(&path))?;
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update((content.len() as u64).to_le_bytes());
        hash.update(&content);
    }
    for tool in TOOLCHAIN {
        hash.update(tool.as_bytes());
        if let Ok(meta) = fs::metadata(tool) {
            hash.update(meta.len().to_le_bytes());
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            hash.update(modified.to_le_bytes());
        }
    }
    hash.update(std::env::var("RUSTC").unwrap_or_default().as_bytes());
    let digest = hash.finalize();
    Ok(digest.iter().take(16).map(|b| format!("{b:02x}")).collect())
}

fn cache_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("lambda/cache")
}

/// The cached zip for `root`'s handler, if its inputs are unchanged since it
/// was built. A damaged entry counts as absent (it is rebuilt, not trusted).
pub fn cached(root: &Path) -> Result<Option<Package>, PackageError> {
    let path = cache_dir(root).join(format!("{}.zip", key(root)?));
    Ok(fs::read(&path)
        .ok()
        .filter(|zip| super::bootstrap_from_zip(zip).is_ok())
        .map(|zip| Package {
            code_sha256: super::code_sha256(&zip),
            zip,
        }))
}

/// The zip for `root`'s handler: the cached one if its inputs are unchanged,
/// else built (and cached). The bool says whether it was built.
pub fn build_or_reuse(root: &Path) -> Result<(Package, bool), PackageError> {
    if let Some(package) = cached(root)? {
        return Ok((package, false));
    }
    let cached = cache_dir(root).join(format!("{}.zip", key(root)?));
    let dir = cache_dir(root);
    let exe = build_handler(root)?;
    let package = package_executable(&exe)?;
    store(&dir, &cached, &package.zip);
    Ok((package, true))
}

/// Stores a zip (temp file, rename) and keeps the newest `KEEP`. A cache
/// that cannot be written only costs a rebuild next time.
fn store(dir: &Path, path: &Path, zip: &[u8]) {
    if fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if fs::write(&tmp, zip).is_err() || fs::rename(&tmp, path).is_err() {
        let _ = fs::remove_file(&tmp);
        return;
    }
    let mut zips: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    zips.sort();
    zips.reverse();
    for (_, old) in zips.into_iter().skip(KEEP) {
        let _ = fs::remove_file(old);
    }
}

//! The Lambda function's code: builds `handler/` for arm64 Lambda and packs the
//! executable into the zip that `CreateFunction`/`UpdateFunctionCode` upload.
//!
//! The zip is reproducible (same executable → byte-identical zip → same
//! CodeSha256), so comparing CodeSha256 with the live function tells whether the
//! code really changed; a zip that embedded the current time would make every
//! plan show a code update. The cross-build itself lives in
//! `scripts/build-handler.sh`, which is also reproducible.

pub mod cache;
mod host;

pub use host::build_host_handler;

use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The only entry: `provided.al2023` runs the executable named `bootstrap`.
pub const ENTRY_NAME: &str = "bootstrap";
/// Lambda keeps the zip's unix mode; without the execute bits the runtime
/// cannot start `bootstrap` (Runtime.InvalidEntrypoint / permission denied).
pub const ENTRY_MODE: u32 = 0o755;
/// Lambda's limit for a zip uploaded directly in the request (`ZipFile`):
/// larger packages must go through S3, which this tool does not use.
pub const MAX_DIRECT_UPLOAD_BYTES: usize = 50 * 1024 * 1024;
/// Path of the build script, relative to the workspace root.
pub const BUILD_SCRIPT: &str = "scripts/build-handler.sh";

/// Exit status by which `scripts/build-handler.sh` says the toolchain is missing.
const EXIT_TOOLCHAIN_MISSING: i32 = 3;
/// Deflate level 9 of flate2 (miniz_oxide): fixed rather than left to the
/// crate's default, so a change of default cannot change the bytes. Levels
/// above 9 would switch to zopfli, far slower for a few percent.
const DEFLATE_LEVEL: i64 = 9;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "the arm64 cross toolchain for the handler is missing (details above); run scripts/setup.sh"
    )]
    ToolchainMissing,
    #[error("{} not found: is {} the webhook-stack workspace?", .script.display(), .root.display())]
    ScriptMissing { script: PathBuf, root: PathBuf },
    #[error("cannot run {}: {source}", .script.display())]
    Spawn { script: PathBuf, source: io::Error },
    #[error("building the handler failed ({status}); cargo's messages are above")]
    BuildFailed { status: String },
    #[error(
        "{} succeeded but printed no executable path (stdout: {stdout:?})",
        BUILD_SCRIPT
    )]
    NoOutputPath { stdout: String },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("the handler executable is empty")]
    EmptyExecutable,
    #[error("the code zip is {size} bytes, over Lambda's {limit}-byte limit for a direct upload")]
    TooLarge { size: usize, limit: usize },
    #[error("not a handler package: {0}")]
    NotAPackage(String),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    // Writing to a Vec cannot fail for lack of space; kept for the Write trait.
    #[error("writing the zip: {0}")]
    Io(#[from] io::Error),
}

/// A ready-to-upload code package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The zip bytes, for `ZipFile`.
    pub zip: Vec<u8>,
    /// What Lambda will report as `CodeSha256` for this zip.
    pub code_sha256: String,
}

/// Zips `executable` as the single entry `bootstrap`, reproducibly: fixed
/// timestamp (1980-01-01 00:00, the earliest a zip can hold), mode 0755, a fixed
/// deflate level, no extra fields, no comment. The same input always gives the
/// same bytes (for a given zip/flate2 version, which Cargo.lock pins).
pub fn zip_bootstrap(executable: &[u8]) -> Result<Vec<u8>, PackageError> {
    if executable.is_empty() {
        return Err(PackageError::EmptyExecutable);
    }
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::default())
        .unix_permissions(ENTRY_MODE)
        // large_file(true) would add a zip64 extra field; Lambda's limits keep
        // us far below 4 GiB.
        .large_file(false);
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(executable.len() / 2)));
    writer.start_file(ENTRY_NAME, options)?;
    writer.write_all(executable)?;
    Ok(writer.finish()?.into_inner())
}

/// base64(sha256(zip)): the `CodeSha256` Lambda reports for this zip.
pub fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// Zips the executable at `path` and computes its CodeSha256, refusing a zip
/// too large to upload directly.
pub fn package_executable(path: &Path) -> Result<Package, PackageError> {
    let executable = read_file(path)?;
    let zip = zip_bootstrap(&executable)?;
    if zip.len() > MAX_DIRECT_UPLOAD_BYTES {
        return Err(PackageError::TooLarge {
            size: zip.len(),
            limit: MAX_DIRECT_UPLOAD_BYTES,
        });
    }
    let code_sha256 = code_sha256(&zip);
    Ok(Package { zip, code_sha256 })
}

/// Reads a file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, PackageError> {
    std::fs::read(path).map_err(|source| PackageError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Checks that `zip` is a handler package (exactly one entry, `bootstrap`,
/// executable) and returns the executable's bytes.
pub fn bootstrap_from_zip(zip: &[u8]) -> Result<Vec<u8>, PackageError> {
    let mut archive = ZipArchive::new(Cursor::new(zip))?;
    if archive.len() != 1 {
        return Err(PackageError::NotAPackage(format!(
            "{} entries, expected only {ENTRY_NAME}",
            archive.len()
        )));
    }
    let mut entry = archive.by_index(0)?;
    if entry.name() != ENTRY_NAME {
        return Err(PackageError::NotAPackage(format!(
            "entry {:?}, expected {ENTRY_NAME}",
            entry.name()
        )));
    }
    match entry.unix_mode() {
        Some(mode) if mode & 0o111 == 0o111 => {}
        mode => {
            let mode = mode.map_or_else(|| "none".to_owned(), |m| format!("{m:o}"));
            return Err(PackageError::NotAPackage(format!(
                "{ENTRY_NAME} is not executable (mode {mode})"
            )));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Cross-builds the handler with `scripts/build-handler.sh` and returns the
/// path of the checked arm64 executable.
///
/// cargo's progress goes straight to the user's stderr (a cold build takes
/// 10–20 minutes on 2 cores, silence would look like a hang); only stdout,
/// where the script prints the path, is captured.
pub fn build_handler(workspace_root: &Path) -> Result<PathBuf, PackageError> {
    let script = workspace_root.join(BUILD_SCRIPT);
    if !script.is_file() {
        return Err(PackageError::ScriptMissing {
            script,
            root: workspace_root.to_owned(),
        });
    }
    // Through bash rather than exec: the execute bit can be lost (zip
    // downloads, some checkouts) and the script needs bash anyway.
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(workspace_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| PackageError::Spawn {
            script: script.clone(),
            source,
        })?;
    match output.status.code() {
        Some(0) => {}
        Some(EXIT_TOOLCHAIN_MISSING) => return Err(PackageError::ToolchainMissing),
        _ => {
            return Err(PackageError::BuildFailed {
                status: output.status.to_string(),
            })
        }
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The path is the last line; anything before it is not ours to interpret.
    let path = stdout
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .ok_or_else(|| PackageError::NoOutputPath {
            stdout: stdout.to_string(),
        })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn sample() -> Vec<u8> {
        // Compressible and not: like a real executable, and long enough that
        // deflate emits several blocks.
        let mut bytes = b"\x7fELF".to_vec();
        let mut x: u32 = 0x1234_5678;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes.push(if i % 3 == 0 {
                (x >> 24) as u8
            } else {
                (i % 251) as u8
            });
        }
        bytes
    }

    #[test]
    fn zip_is_deterministic() {
        let exe = sample();
        let a = zip_bootstrap(&exe).unwrap();
        let b = zip_bootstrap(&exe).unwrap();
        assert_eq!(a, b);
        assert_eq!(code_sha256(&a), code_sha256(&b));
        let mut other = exe.clone();
        other[100] ^= 1;
        assert_ne!(
            code_sha256(&a),
            code_sha256(&zip_bootstrap(&other).unwrap())
        );
    }

    #[test]
    fn zip_reads_back_as_one_executable_bootstrap() {
        let exe = sample();
        let zip = zip_bootstrap(&exe).unwrap();
        assert!(zip.len() < exe.len(), "deflate should shrink the sample");

        let mut archive = ZipArchive::new(Cursor::new(zip.as_slice())).unwrap();
        assert_eq!(archive.len(), 1);
        assert!(archive.comment().is_empty());
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        let mode = entry.unix_mode().expect("unix mode recorded");
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(mode & 0o170000, 0o100000, "a regular file");
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        assert!(entry.extra_data().is_none_or(<[u8]>::is_empty));
        drop(entry);

        assert_eq!(bootstrap_from_zip(&zip).unwrap(), exe);
    }

    #[test]
    fn code_sha256_is_base64_of_sha256() {
        // Known vectors: sha256("") and sha256("abc") (FIPS 180-2), in base64.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            code_sha256(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn empty_executable_is_refused() {
        assert!(matches!(
            zip_bootstrap(b""),
            Err(PackageError::EmptyExecutable)
        ));
    }

    #[test]
    fn foreign_zip_is_not_a_package() {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file("handler.py", SimpleFileOptions::default())
            .unwrap();
        writer.write_all(b"print(1)").unwrap();
        let zip = writer.finish().unwrap().into_inner();
        assert!(matches!(
            bootstrap_from_zip(&zip),
            Err(PackageError::NotAPackage(_))
        ));
    }

    /// A throwaway workspace whose build script is `script_body`.
    fn fake_workspace(script_body: &str) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "webhook-stack-package-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        std::fs::write(dir.join(BUILD_SCRIPT), script_body).unwrap();
        dir
    }

    #[test]
    fn build_handler_returns_the_printed_path() {
        let root = fake_workspace(
            "echo cargo noise >&2\nprintf 'x' > \"$PWD/bootstrap\"\necho \"$PWD/bootstrap\"\n",
        );
        let path = build_handler(&root).unwrap();
        assert_eq!(path, root.join("bootstrap"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn build_handler_maps_exit_statuses_to_typed_errors() {
        let root = fake_workspace("exit 3\n");
        let err = build_handler(&root).unwrap_err();
        assert!(matches!(err, PackageError::ToolchainMissing));
        assert!(err.to_string().contains("run scripts/setup.sh"));
        std::fs::remove_dir_all(&root).unwrap();

        let root = fake_workspace("exit 1\n");
        assert!(matches!(
            build_handler(&root),
            Err(PackageError::BuildFailed { .. })
        ));
        std::fs::remove_dir_all(&root).unwrap();

        let root = fake_workspace("echo /nonexistent/bootstrap\n");
        assert!(matches!(
            build_handler(&root),
            Err(PackageError::NoOutputPath { .. })
        ));
        std::fs::remove_dir_all(&root).unwrap();

        let missing = std::env::temp_dir().join("webhook-stack-no-such-workspace");
        assert!(matches!(
            build_handler(&missing),
            Err(PackageError::ScriptMissing { .. })
        ));
    }
}

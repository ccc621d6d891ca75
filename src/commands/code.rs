//! The function's code for a plan or an apply: a given zip, or handler/
//! built for arm64 and zipped.

use crate::config::CodeSource;
use crate::package::{self, Package};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The function's code: the given zip, or handler/ built for arm64 and zipped
/// (reused from the cache while nothing it is built from has changed).
pub fn code_package(code: &CodeSource) -> Result<Package> {
    match code {
        CodeSource::Zip(path) => {
            let zip = package::read_file(path)?;
            package::bootstrap_from_zip(&zip)
                .with_context(|| format!("{} is not a Lambda code package", path.display()))?;
            Ok(Package {
                code_sha256: package::code_sha256(&zip),
                zip,
            })
        }
        CodeSource::Checkout(dir) => {
            let root = checkout_root(dir.as_deref())?;
            Ok(package::cache::build_or_reuse(&root)?.0)
        }
    }
}

/// The code's identity for a `plan`: as `code_package`, except that when
/// the handler is not built yet (a fresh clone: minutes of cross build) and
/// the stack's state records no function, the plan does not wait for it —
/// the function is new, so its code is shown as known after apply, and
/// apply builds and deploys exactly what it builds.
pub async fn code_for_plan(
    code: &CodeSource,
    store: &dyn crate::state::StateStore,
) -> Result<String> {
    if let CodeSource::Checkout(dir) = code {
        let root = checkout_root(dir.as_deref())?;
        if let Some(package) = package::cache::cached(&root)? {
            return Ok(package.code_sha256);
        }
        let recorded = store
            .load()
            .await?
            .is_some_and(|s| s.resources.contains_key(crate::program::FUNCTION));
        if !recorded {
            eprintln!(
                "The handler is not built yet and the function does not exist: planning without its code (apply builds it; `webhook-stack package` builds it now)."
            );
            return Ok(crate::engine::expr::UNKNOWN.to_owned());
        }
    }
    Ok(code_package(code)?.code_sha256)
}

/// The checkout whose handler/ is built: found at run time, never through
/// a path compiled into the binary, so a release binary copied elsewhere
/// says what it needs instead of building someone else's tree.
pub(super) fn checkout_root(handler_dir: Option<&Path>) -> Result<PathBuf> {
    let is_checkout = |root: &Path| {
        root.join("handler/Cargo.toml").is_file() && root.join(package::BUILD_SCRIPT).is_file()
    };
    if let Some(dir) = handler_dir {
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("--handler-dir {}", dir.display()))?;
        match dir.parent() {
            Some(root) if dir.join("Cargo.toml").is_file() && is_checkout(root) => {
                return Ok(root.to_owned())
            }
            _ => bail!(
                "--handler-dir {}: not the handler/ crate of a webhook-stack checkout (expected Cargo.toml there and {} beside it)",
                dir.display(),
                package::BUILD_SCRIPT
            ),
        }
    }
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    cwd.ancestors()
        .find(|d| is_checkout(d))
        .map(Path::to_owned)
        .with_context(|| {
            format!(
                "no handler/ to build: neither {} nor a directory above it is a webhook-stack checkout. \
                 Pass --handler-zip PATH (a zip made by `webhook-stack package`) or --handler-dir DIR (the handler crate)",
                cwd.display()
            )
        })
}

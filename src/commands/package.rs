//! `package`: build handler/ for arm64 and write its reproducible zip.

use super::printer::print_json;
use super::ExitStatus;
use crate::config::Config;
use anyhow::{Context, Result};
use std::path::Path;

/// Always builds: `package` is the explicit build (and the artifact checks'
/// reproducibility test relies on it).
pub fn run(config: &Config, out: &Path, handler_dir: Option<&Path>) -> Result<ExitStatus> {
    let root = super::code::checkout_root(handler_dir)?;
    let exe = crate::package::build_handler(&root)?;
    let package = crate::package::package_executable(&exe)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(out, &package.zip).with_context(|| format!("cannot write {}", out.display()))?;
    if config.json {
        print_json(&serde_json::json!({
            "zip": out,
            "size": package.zip.len(),
            "code_sha256": package.code_sha256,
        }));
    } else {
        println!(
            "{} ({} bytes), CodeSha256 {}",
            out.display(),
            package.zip.len(),
            package.code_sha256
        );
    }
    Ok(ExitStatus::Success)
}

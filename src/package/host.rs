//! The handler built for this machine (`invoke --local`, `smoke --local`):
//! `cargo build -p webhook-handler --bin bootstrap` in the checkout, a debug
//! build for speed, its executable found in cargo's own report.

use super::PackageError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn build_host_handler(workspace_root: &Path) -> Result<PathBuf, PackageError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let script = PathBuf::from("cargo build -p webhook-handler --bin bootstrap");
    let output = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "-p",
            "webhook-handler",
            "--bin",
            "bootstrap",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| PackageError::Spawn {
            script: script.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(PackageError::BuildFailed {
            status: output.status.to_string(),
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    executable(&stdout).ok_or_else(|| PackageError::NoOutputPath {
        stdout: stdout.chars().take(2_000).collect(),
    })
}

/// The `bootstrap` executable in cargo's JSON messages.
fn executable(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "bootstrap")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_cargos_report() {
        let exe = std::env::current_exe().unwrap();
        let messages = format!(
            "{{\"reason\":\"compiler-artifact\",\"target\":{{\"name\":\"other\"}},\"executable\":null}}\n\
             {{\"reason\":\"compiler-artifact\",\"target\":{{\"name\":\"bootstrap\"}},\"executable\":{:?}}}\n\
             {{\"reason\":\"build-finished\",\"success\":true}}",
            exe.display().to_string()
        );
        assert_eq!(executable(&messages), Some(exe));
        assert_eq!(executable("not json"), None);
    }
}

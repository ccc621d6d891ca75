#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, then runs
# formatting and lint checks, every unit and integration test (each test
# binary starts its own moto server), and the arm64 handler artifact checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit and integration tests, against moto)"
cargo test --workspace --locked

if [ -x scripts/check-handler-artifact.sh ]; then
  step "arm64 handler artifact"
  scripts/check-handler-artifact.sh
fi

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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --all-targets: unit and integration tests (there are no doc tests).
cargo test --workspace --all-targets --locked 2>&1 | tee "$log"

step "arm64 handler artifact"
scripts/check-handler-artifact.sh 2>&1 | tee -a "$log"

# One closing line over every test binary and the artifact checks, so the
# count is not the last runner's alone.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     /^artifact: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"

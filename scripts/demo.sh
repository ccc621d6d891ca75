#!/usr/bin/env bash
# The demo (README): a local AWS emulator, then plan, apply, plan again,
# drift, outputs and destroy of the whole stack, as a user would run them.
#   scripts/demo.sh [SUFFIX]       (default suffix: demo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
suffix=${1:-demo}
scripts/setup.sh
# shellcheck source=scripts/moto.sh
. scripts/moto.sh
moto_start
state_dir=$(mktemp -d)
cargo build --quiet --locked
ws() {
  printf '\n$ webhook-stack %s\n' "$*" >&2
  "$root/target/debug/webhook-stack" --suffix "$suffix" --state-dir "$state_dir" "$@"
}
set +e
ws plan --detailed-exitcode
rc=$?
set -e
[ "$rc" = 2 ] || { echo "demo: expected plan to report changes (exit 2), got $rc" >&2; exit 1; }
ws apply --yes
ws plan --detailed-exitcode -v
ws drift
ws outputs
ws outputs --json
ws destroy --yes
ws destroy --yes
printf '\ndemo: done (state was in %s)\n' "$state_dir" >&2

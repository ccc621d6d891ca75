#!/usr/bin/env bash
# The handler's long property campaign: FUZZ_EVENTS generated invocations
# (default 1,000,000; the seed's payload mutated in every wrapper, see
# handler/tests/it/support/fuzz.rs) through the whole event path, over the in-memory store.
# Prints cases run, failures and events per second; exits 1 on a failure, with the
# shrunk input. Not part of scripts/test.sh (which runs the same properties with a few
# thousand cases): it takes minutes.
#
#   scripts/fuzz-handler.sh            # 1,000,000 events
#   FUZZ_EVENTS=100000 scripts/fuzz-handler.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export FUZZ_EVENTS=${FUZZ_EVENTS:-1000000}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Release: the events-per-second figure is the handler's, not the debug build's.
status=0
cargo test --release --locked -p webhook-handler --test it -- \
  --ignored properties::campaign --exact --nocapture --test-threads 1 >"$log" 2>&1 || status=$?
if grep -oE 'campaign: .*' "$log"; then
  grep -E 'minimal failing|Test failed' "$log" || true
else
  tail -40 "$log"
fi
exit "$status"

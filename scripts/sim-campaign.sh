#!/usr/bin/env bash
# A simulation campaign: random histories on fresh seeds against the
# simulated AWS (src/sim), until STEPS steps have run (default 1,000,000).
# Prints steps per second at the end, and for each history that broke an
# invariant: its seed, the shrunk history and the command that replays it.
#
#   scripts/sim-campaign.sh [STEPS] [FIRST_SEED] [THREADS]
#
# FIRST_SEED defaults to the current time, so each campaign searches new
# histories; THREADS defaults to the number of cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export WEBHOOK_STACK_SIM_STEPS=${1:-1000000}
export WEBHOOK_STACK_SIM_FIRST_SEED=${2:-$(( $(date +%s) * 1000 ))}
export WEBHOOK_STACK_SIM_THREADS=${3:-$(nproc)}
# The commands' own output (plans, warnings) goes nowhere: a million steps
# of it would fill memory if the test runner kept it, or the disk if shown.
# The campaign's report goes to a file, shown as it grows.
report=$(mktemp "${TMPDIR:-/tmp}/sim-campaign.XXXXXX")
echo "sim-campaign: $WEBHOOK_STACK_SIM_STEPS steps from seed $WEBHOOK_STACK_SIM_FIRST_SEED on $WEBHOOK_STACK_SIM_THREADS threads; report in $report" >&2
cargo test --locked --quiet --bin webhook-stack --no-run
# In a session of its own, so that this script ending any way (Ctrl-C, a
# closed pipe) stops the campaign's test process too. The test runner's own
# output is kept in part: its last lines show a panic, if one stopped it.
WEBHOOK_STACK_SIM_REPORT=$report setsid -w cargo test --locked --quiet --bin webhook-stack \
  sim::tests::campaign -- --ignored --exact --nocapture \
  >/dev/null 2> >(tail -n 100 >"$report.runner") &
campaign=$!
trap 'kill -- -"$campaign" 2>/dev/null || true' EXIT INT TERM HUP
# Follows the report until the campaign ends, then reads it a last time.
# Both are waited for with `wait`, which a signal interrupts (a foreground
# command would hold the trap back until the campaign ended).
tail -n +1 -f --pid="$campaign" "$report" >&2 &
follower=$!
status=0
wait "$campaign" || status=$?
wait "$follower" || true
trap - EXIT
if [ "$status" -ne 0 ]; then
  echo "sim-campaign: the campaign exited $status; the test runner's last lines are in $report.runner" >&2
fi
exit "$status"

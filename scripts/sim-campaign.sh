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
# The commands' own output stays with the test runner (shown only if the
# campaign fails); the summary and failures go straight to stderr.
cargo test --locked --bin webhook-stack sim::tests::campaign -- --ignored --exact

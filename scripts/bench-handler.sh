#!/usr/bin/env bash
# Benchmark of the Lambda handler (not a test):
#   1. its per-event processing time without the DynamoDB round trip:
#      handler/benches/per_event.rs, built with --release for the host, runs
#      Handler::handle over the in-memory store for BENCH_EVENTS events
#      (default 20000) of each kind (new, new as a base64 HTTP body, duplicate,
#      stale, invalid) and prints median/p90/p99/max ns per event, with logging
#      off and with the function's JSON logs written to a sink;
#   2. the size of the arm64 code zip that apply deploys
#      (`webhook-stack package --json`; the cross build is cached in target/).
#
#   scripts/bench-handler.sh                     # BENCH_EVENTS=100000 for more samples
#
# The host release build of the handler's dependencies takes ~6 min cold on
# 2 cores; set CARGO_BUILD_JOBS to limit cargo's jobs. Figures go to stdout,
# cargo's output to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
note() { printf 'bench-handler: %s\n' "$*" >&2; }

note "cargo bench --locked -p webhook-handler --bench per_event"
out=$(cargo bench --locked -p webhook-handler --bench per_event 2> >(cat >&2))
printf '%s\n' "$out"

note "cargo build --locked -p webhook-stack; webhook-stack package --json"
cargo build --locked -p webhook-stack >&2
mkdir -p "$target_dir/lambda"
zip=$target_dir/lambda/bench.zip
json=$("$target_dir/debug/webhook-stack" package --json --out "$zip")
read -r size code_sha256 unpacked < <(printf '%s' "$json" | python3 -c '
import json, sys, zipfile
d = json.load(sys.stdin)
print(d["size"], d["code_sha256"], zipfile.ZipFile(d["zip"]).getinfo("bootstrap").file_size)')

# The "all" rows of the two tables: median and p99 over every kind.
read -r off_median off_p99 < <(printf '%s\n' "$out" | awk '/logging off/ { t = 1 } t == 1 && $1 == "all" { print $3, $5; exit }')
read -r log_median log_p99 < <(printf '%s\n' "$out" | awk '/JSON logs/ { t = 1 } t == 1 && $1 == "all" { print $3, $5; exit }')
echo
echo "handler per-event processing time (host $(uname -m), no DynamoDB round trip, all kinds):"
echo "  logging off:        median ${off_median} ns, p99 ${off_p99} ns"
echo "  JSON logs to sink:  median ${log_median} ns, p99 ${log_p99} ns"
awk -v s="$size" -v u="$unpacked" -v c="$code_sha256" 'BEGIN {
  printf "arm64 code zip: %d bytes (%.2f MiB; bootstrap %d bytes unpacked), CodeSha256 %s\n", s, s / 1048576, u, c }'

#!/usr/bin/env bash
# The speed benchmark (not a test): builds the release binary, starts its
# own moto server and three loopback proxies (scripts/aws_proxy.py: +50 ms per
# request; +0 ms, to count Terraform's calls; +50 ms with repeated reads
# answered from a cache, for the many-stacks runs), and
# runs bench/bench.py, which prints per command median/min/max wall time,
# CPU time, peak RSS and AWS calls (reads/writes); the same under 50 ms with
# each command's ratio to its critical-path bound; plan/drift --all over 1,
# 10 and 50 stacks; `--version` time; and, where terraform and a local mirror
# of its AWS provider exist, bench/terraform/main.tf against the same moto
# with the ratio per command. Ends with a summary table and one line per
# speed target. Takes ~6 minutes on 2 cores, most of it Terraform.
#
#   scripts/bench.sh                  # everything
#   BENCH_RUNS=5 BENCH_SCALE=1,10,50 BENCH_TF_APPLY_RUNS=3 BENCH_TF_PLAN_RUNS=5 scripts/bench.sh
#   BENCH_SKIP_TERRAFORM=1 scripts/bench.sh
#   BENCH_KEEP=1 scripts/bench.sh     # keep the work dir (state, proxy stats, terraform dir)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python=${PYTHON:-python3}
command -v "$python" >/dev/null || python="$root/.venv/bin/python"

if [ ! -x "$root/.venv/bin/moto_server" ]; then
  echo "bench: no moto in .venv; running scripts/setup.sh" >&2
  scripts/setup.sh
fi

echo "bench: cargo build --release --locked -p webhook-stack" >&2
cargo build --release --locked -p webhook-stack ${BENCH_JOBS:+-j "$BENCH_JOBS"}
bin="$root/target/release/webhook-stack"

work=$(mktemp -d "${TMPDIR:-/tmp}/webhook-stack-bench.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${BENCH_KEEP:-}" ]; then
    echo "bench: work dir kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
moto_start
trap cleanup EXIT # moto_start set its own EXIT trap; ours also stops moto
moto=$AWS_ENDPOINT_URL

# A proxy on a free port; sets proxy_url. (Not run in $(...): the pid must
# reach the cleanup.)
start_proxy() {
  local name=$1
  shift
  "$python" "$root/scripts/aws_proxy.py" --upstream "$moto" --port 0 --max-seconds 3000 \
    --stats-file "$work/proxy-$name.json" "$@" >"$work/proxy-$name.out" 2>"$work/proxy-$name.err" &
  pids+=($!)
  for _ in $(seq 1 200); do
    proxy_url=$(sed -n 's/^listening on //p' "$work/proxy-$name.out" 2>/dev/null | head -1)
    [ -n "$proxy_url" ] && return
    sleep 0.05
  done
  echo "bench: proxy $name did not start: $(cat "$work/proxy-$name.err")" >&2
  exit 1
}
start_proxy 0ms --latency-ms 0
proxy0=$proxy_url
start_proxy 50ms --latency-ms 50 --log "$work/proxy-50ms.log"
proxy50=$proxy_url
# For plan/drift --all only: +50 ms, repeated reads answered from the proxy's
# cache, to separate the tool's scaling from the emulator's throughput.
start_proxy 50ms-cached --latency-ms 50 --cache-reads
proxyc=$proxy_url
echo "bench: moto $moto, proxies $proxy0 (+0 ms), $proxy50 (+50 ms), $proxyc (+50 ms, reads cached), work dir $work" >&2

args=(--bin "$bin" --moto "$moto" --proxy0 "$proxy0" --proxy50 "$proxy50" --proxy-cached "$proxyc" \
  --proxy50-log "$work/proxy-50ms.log" --work "$work"
  --tf-config "$root/bench/terraform/main.tf"
  --runs "${BENCH_RUNS:-5}" --scale "${BENCH_SCALE:-1,10,50}"
  --tf-apply-runs "${BENCH_TF_APPLY_RUNS:-3}" --tf-plan-runs "${BENCH_TF_PLAN_RUNS:-5}")
[ -n "${BENCH_SKIP_TERRAFORM:-}" ] && args+=(--skip-terraform)
# In the background so that a TERM reaches the trap at once (bash runs traps
# only between foreground commands).
"$python" "$root/bench/bench.py" "${args[@]}" &
pids+=($!)
wait "$!"

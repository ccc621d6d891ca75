#!/usr/bin/env bash
# The scale benchmark (not a test): builds the release binary, starts
# its own moto and a proxy that throttles IAM above 20 calls/s
# (scripts/aws_proxy.py --rate-limit IAM=20), applies 100 stacks, and runs
# bench/scale.py, which prints: drift/plan --all over 100 stacks under the
# limit (local and S3 backends, with the account's role listing and with it
# refused: failed stacks, IAM calls, throttled, wall time and its ratio to
# the limit's bound); CPU time and peak RSS at 1, 10
# and 100 stacks; and a converged plan without --handler-zip against the
# same plan with it. Ends with one line per target.
#
#   scripts/bench-scale.sh
#   BENCH_STACKS=20 BENCH_SKIP_DEFAULT_PATH=1 scripts/bench-scale.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || python="$root/.venv/bin/python"
if [ ! -x "$root/.venv/bin/moto_server" ]; then
  echo "bench-scale: no moto in .venv; running scripts/setup.sh" >&2
  scripts/setup.sh
fi
echo "bench-scale: cargo build --release --locked -p webhook-stack" >&2
cargo build --release --locked -p webhook-stack
bin="$root/target/release/webhook-stack"

work=$(mktemp -d "${TMPDIR:-/tmp}/webhook-stack-bench-scale.XXXXXX")
proxy_pids=()
cleanup() {
  local rc=$?
  for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
moto_start
trap cleanup EXIT
moto=$AWS_ENDPOINT_URL

# A proxy on a free port; sets proxy_url.
start_proxy() {
  local name=$1
  shift
  "$python" scripts/aws_proxy.py --upstream "$moto" --port 0 --max-seconds 3000 "$@" \
    >"$work/proxy-$name.out" 2>"$work/proxy-$name.err" &
  proxy_pids+=($!)
  proxy_url=
  for _ in $(seq 1 200); do
    proxy_url=$(sed -n 's/^listening on //p' "$work/proxy-$name.out" 2>/dev/null | head -1)
    [ -n "$proxy_url" ] && return
    sleep 0.05
  done
  echo "bench-scale: proxy $name did not start: $(cat "$work/proxy-$name.err")" >&2
  exit 1
}
start_proxy limited --rate-limit IAM=20
limited=$proxy_url
# The same limit, with the account's role listing refused (AccessDenied, as
# for a role without iam:GetAccountAuthorizationDetails): each stack reads
# its own role.
start_proxy limited-per-stack --rate-limit IAM=20 \
  --rule "IAM.GetAccountAuthorizationDetails:1000000:AccessDenied:not authorized to perform iam:GetAccountAuthorizationDetails"
limited_per_stack=$proxy_url
# Connections kept open, as AWS does (moto closes each one).
start_proxy keepalive --latency-ms 0
keepalive=$proxy_url

args=(--bin "$bin" --root "$root" --moto "$moto" --limited "$limited" --limited-per-stack "$limited_per_stack"
  --keepalive "$keepalive" --work "$work"
  --stacks "${BENCH_STACKS:-100}")
[ -n "${BENCH_SKIP_DEFAULT_PATH:-}" ] && args+=(--skip-default-path)
"$python" bench/scale.py "${args[@]}" &
wait "$!"

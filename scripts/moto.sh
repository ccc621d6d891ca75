# Sourced by the demo and benchmark scripts: starts a moto server on a free
# loopback port, exports AWS_ENDPOINT_URL and dummy credentials, and stops the
# server when the calling script exits.
moto_start() {
  local root port
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  port=$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # moto, with the DeadLetterConfig it lacks (see the script).
  "$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/webhook-stack-moto-$port.log" 2>&1 &
  MOTO_PID=$!
  trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if "$root/.venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  unset AWS_PROFILE AWS_SESSION_TOKEN
  printf 'moto: listening on %s (pid %s)\n' "$AWS_ENDPOINT_URL" "$MOTO_PID" >&2
}

#!/usr/bin/env bash
# Checks the arm64 Lambda artifact of handler/:
#
#   1. `webhook-stack package` builds the reproducible code zip: exactly one
#      entry `bootstrap`, mode 0755; CodeSha256 = base64(sha256(zip)); an
#      aarch64 ELF needing glibc <= 2.34 (Lambda provided.al2023).
#   2. It starts under qemu-aarch64-static (with no Runtime API to talk to it
#      fails, but it must not fail to load).
#   3. Reproducible: a forced relink (touch handler/src/main.rs) gives the same
#      zip, byte for byte.
#   4. End to end: the bootstrap from the zip, under qemu, run by a Lambda
#      Runtime API emulator (handler/e2e/runtime_api.py) against a DynamoDB
#      table in a moto server (handler/e2e/e2e.py): seed payload, redelivery,
#      older event, bad payload, 18-digit amount, base64 HTTP body, the items
#      read back, the JSON log lines, and a DynamoDB failure.
#
# Prints `ok: ...` / `FAIL: ...` per check on stdout and ends with
# `artifact: N passed, M failed`; exit 1 if any failed. Cargo's output
# goes to stderr. Run by scripts/test.sh after the tests; needs what
# scripts/setup.sh installs. The arm64 release build is cached in target/
# (~10 min cold on 2 cores); set CARGO_BUILD_JOBS to limit cargo's jobs.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export PYTHONDONTWRITEBYTECODE=1

target_dir=${CARGO_TARGET_DIR:-$root/target}
lambda_dir=$target_dir/lambda
work=$lambda_dir/check
cli=$target_dir/debug/webhook-stack
built_bin=$target_dir/aarch64-unknown-linux-gnu/lambda/bootstrap
python=$root/.venv/bin/python
qemu="qemu-aarch64-static"
sysroot=/usr/aarch64-linux-gnu
objdump=aarch64-linux-gnu-objdump
max_glibc=2.34

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok: %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL: %s\n' "$*"; }
finish() {
  printf 'artifact: %d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
  exit
}
# A failure after which the remaining checks cannot run.
fatal() { fail "$*"; finish; }
note() { printf 'check-handler-artifact: %s\n' "$*" >&2; }

moto_pid=
# shellcheck disable=SC2317 # called through the traps
cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null
    wait "$moto_pid" 2>/dev/null
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

started=$SECONDS
missing=()
for tool in "$qemu" "$objdump" cmp sha256sum; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -d "$sysroot/lib" ] || missing+=("$sysroot (gcc-aarch64-linux-gnu's sysroot)")
[ -x "$python" ] || missing+=("$python")
[ -x "$root/.venv/bin/moto_server" ] || missing+=(".venv/bin/moto_server")
[ ${#missing[@]} -eq 0 ] || fatal "tools missing: ${missing[*]}; run scripts/setup.sh"
mkdir -p "$work"

# --- 1. package, zip, ELF, glibc ------------------------------------------------
t=$SECONDS
note "cargo build --locked -p webhook-stack"
cargo build --locked -p webhook-stack >&2 || fatal "cargo build -p webhook-stack failed (see stderr)"

# package: prints {"zip","size","code_sha256"}; returns them as three lines.
package() { # package OUT
  local json
  json=$("$cli" package --json --out "$1") || return 1
  printf '%s' "$json" | "$python" -c '
import json, sys
d = json.load(sys.stdin)
print(d["zip"]); print(d["size"]); print(d["code_sha256"])'
}

note "CLI build took $((SECONDS - t)) s"
t=$SECONDS
rm -f "$lambda_dir/a.zip" "$lambda_dir/b.zip"
note "webhook-stack package --json --out $lambda_dir/a.zip"
mapfile -t a < <(package "$lambda_dir/a.zip")
if [ ${#a[@]} -ne 3 ] || [ ! -f "$lambda_dir/a.zip" ]; then
  fatal "webhook-stack package --json --out $lambda_dir/a.zip failed (see stderr)"
fi
ok "package built $lambda_dir/a.zip in $((SECONDS - t)) s: ${a[1]} bytes, CodeSha256 ${a[2]}"

# Zip layout, CodeSha256, ELF header; extracts the executable for the later checks.
if out=$("$python" - "$lambda_dir/a.zip" "${a[1]}" "${a[2]}" "$work/bootstrap" <<'EOF'
import base64, hashlib, os, stat, sys, zipfile
path, size, code_sha256, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = open(path, "rb").read()
problems = []
if len(data) != size:
    problems.append("size %d, package said %d" % (len(data), size))
actual = base64.b64encode(hashlib.sha256(data).digest()).decode()
if actual != code_sha256:
    problems.append("base64(sha256(zip)) is %s, package said %s" % (actual, code_sha256))
z = zipfile.ZipFile(path)
infos = z.infolist()
names = [i.filename for i in infos]
if names != ["bootstrap"]:
    problems.append("entries %r, want exactly ['bootstrap']" % names)
else:
    mode = infos[0].external_attr >> 16
    if infos[0].create_system != 3 or not stat.S_ISREG(mode) or stat.S_IMODE(mode) != 0o755:
        problems.append("bootstrap mode %o (system %d), want regular file 0755 (unix)" % (mode, infos[0].create_system))
if problems:
    print("; ".join(problems)); sys.exit(1)
tmp = dest + ".tmp"
with open(tmp, "wb") as f:
    f.write(z.read("bootstrap"))
os.chmod(tmp, 0o755)
os.replace(tmp, dest)
print("one entry 'bootstrap', mode 0755, %d bytes uncompressed; CodeSha256 = base64(sha256(zip))" % infos[0].file_size)
EOF
); then
  ok "zip: $out"
else
  fatal "zip: $out"
fi
bin=$work/bootstrap

# aarch64: objdump's view and the ELF header's own (EI_CLASS 2 = 64-bit,
# EI_DATA 1 = little-endian, e_machine 183 = EM_AARCH64).
format=$("$objdump" -f "$bin" 2>&1 | grep -o 'file format [a-z0-9-]*')
machine=$("$python" -c '
import struct, sys
h = open(sys.argv[1], "rb").read(20)
assert h[:4] == b"\x7fELF", "not an ELF file"
print(h[4], h[5], struct.unpack("<H", h[18:20])[0])' "$bin" 2>&1)
if [ "$format" = "file format elf64-littleaarch64" ] && [ "$machine" = "2 1 183" ]; then
  ok "bootstrap is an aarch64 ELF ($format, e_machine 183)"
else
  fail "bootstrap is not an aarch64 ELF: objdump '$format', class/data/e_machine '$machine'"
fi

# Highest GLIBC_x.y symbol version it needs; sort -V orders 2.9 < 2.34.
need=$("$objdump" -T "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tail -n1)
libs=$("$objdump" -p "$bin" 2>/dev/null | awk '$1 == "NEEDED" { printf "%s%s", sep, $2; sep = " " }')
if [ -z "$need" ]; then
  fail "bootstrap needs no GLIBC_ symbol version: not dynamically linked against glibc?"
elif [ "$(printf '%s\n%s\n' "$need" "$max_glibc" | sort -V | tail -n1)" = "$max_glibc" ]; then
  ok "highest glibc symbol version needed: GLIBC_$need <= $max_glibc (NEEDED: $libs)"
else
  fail "bootstrap needs GLIBC_$need, newer than provided.al2023's $max_glibc: $("$objdump" -T "$bin" | grep "GLIBC_$need" | awk '{print $NF}' | tr '\n' ' ')"
fi

# --- 2. it loads under qemu -----------------------------------------------------
# A free port with nothing listening: the runtime's first poll is refused.
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
t=$SECONDS
start_out=$(env -i PATH="$PATH" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" TABLE_NAME=transactions-e2e \
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_LAMBDA_FUNCTION_NAME=webhook-processor-e2e AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
  AWS_LAMBDA_FUNCTION_VERSION="\$LATEST" AWS_LAMBDA_LOG_STREAM_NAME=x \
  AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/webhook-processor-e2e LOG_LEVEL=info \
  timeout 60 "$qemu" -L "$sysroot" "$bin" 2>&1 </dev/null)
rc=$?
first=$(printf '%s\n' "$start_out" | head -n1 | cut -c1-160)
loader_error='Could not open|No such file or directory|cannot open shared object|error while loading shared libraries|GLIBC_[0-9.]+. not found|Exec format error|Invalid ELF'
if [ $rc -eq 124 ]; then
  fail "bootstrap under qemu did not exit within 60 s although no Runtime API listens: $first"
elif [ $rc -eq 126 ] || [ $rc -eq 127 ] || printf '%s\n' "$start_out" | grep -Eq "$loader_error"; then
  fail "bootstrap failed to load under $qemu (exit $rc): $(printf '%s\n' "$start_out" | grep -E "$loader_error" | head -n1)"
elif printf '%s\n' "$start_out" | grep -q '"message":"handler ready"' &&
  printf '%s\n' "$start_out" | grep -Eiq 'connect|connection refused'; then
  ok "bootstrap loads under $qemu -L $sysroot: logged 'handler ready', then exit $rc for lack of a Runtime API (connection refused) in $((SECONDS - t)) s"
else
  fail "bootstrap under qemu (exit $rc) printed neither its 'handler ready' log line nor a connection error: $first"
fi

# --- 3. reproducible ------------------------------------------------------------
# touch: cargo sees a newer source and recompiles and relinks the executable;
# the zip must come out byte-identical.
t=$SECONDS
before=$(stat -c %Y.%y "$built_bin" 2>/dev/null)
touch "$root/handler/src/main.rs"
note "touch handler/src/main.rs; webhook-stack package --json --out $lambda_dir/b.zip"
mapfile -t b < <(package "$lambda_dir/b.zip")
if [ ${#b[@]} -ne 3 ] || [ ! -f "$lambda_dir/b.zip" ]; then
  fail "second build (webhook-stack package --out $lambda_dir/b.zip) failed (see stderr)"
else
  after=$(stat -c %Y.%y "$built_bin" 2>/dev/null)
  if [ "$before" = "$after" ]; then
    fail "touching handler/src/main.rs did not relink $built_bin; the reproducibility check would be vacuous"
  elif [ "${a[2]}" = "${b[2]}" ] && cmp -s "$lambda_dir/a.zip" "$lambda_dir/b.zip"; then
    ok "reproducible: relinked in $((SECONDS - t)) s, b.zip is byte-identical to a.zip (CodeSha256 ${b[2]}, sha256 $(sha256sum "$lambda_dir/b.zip" | cut -c1-16)...)"
  else
    fail "not reproducible: a.zip CodeSha256 ${a[2]} (${a[1]} bytes), b.zip ${b[2]} (${b[1]} bytes); $(cmp "$lambda_dir/a.zip" "$lambda_dir/b.zip" 2>&1 | head -n1)"
  fi
fi

# --- 4. end to end: Runtime API emulator + moto ------------------------------------
t=$SECONDS
moto_port=$(free_port)
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
ready=
for _ in $(seq 1 150); do
  if "$python" -c '
import sys, urllib.request
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$ready" ]; then
  fail "moto server did not start on 127.0.0.1:$moto_port (log: $(tail -n 3 "$work/moto.log" | tr '\n' ' '))"
else
  note "moto on 127.0.0.1:$moto_port (pid $moto_pid); logs and results in $work"
  e2e_failed=0
  e2e_lines=0
  e2e_rc=
  while IFS= read -r line; do
    case $line in
      "e2e-exit "*) e2e_rc=${line#e2e-exit }; continue ;;
      ok:*) passed=$((passed + 1)); e2e_lines=$((e2e_lines + 1)) ;;
      FAIL:*) failed=$((failed + 1)); e2e_failed=1; e2e_lines=$((e2e_lines + 1)) ;;
    esac
    printf '%s\n' "$line"
  done < <("$python" "$root/handler/e2e/e2e.py" --endpoint "http://127.0.0.1:$moto_port" \
    --workdir "$work" -- "$qemu" -L "$sysroot" "$bin"; echo "e2e-exit $?")
  # The process substitution's last line carries e2e.py's exit status.
  if [ "$e2e_rc" != 0 ] && [ "$e2e_failed" -eq 0 ]; then
    fail "handler/e2e/e2e.py exited with status ${e2e_rc:-unknown} after $e2e_lines checks"
  elif [ "$e2e_lines" -eq 0 ]; then
    fail "handler/e2e/e2e.py reported no checks"
  fi
  note "end to end took $((SECONDS - t)) s"
fi

note "took $((SECONDS - started)) s"
finish

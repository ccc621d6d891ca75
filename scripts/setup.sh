#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine.
# Idempotent: each step checks whether its result is already there, so a second
# run only does a few fast checks (about a second).
#
# Steps:
#   1. .venv with the AWS emulator (moto), for the tests.
#   2. The arm64 cross toolchain for handler/ (Lambda arm64, glibc <= 2.34):
#      Debian's rustc-web + gcc-aarch64-linux-gnu + qemu-user-static, and the
#      arm64 standard library taken from Debian's libstd-rust-web-dev:arm64.
#      rustup's download server is not reachable here, so this route does not
#      need `rustup target add`. If you do have
#      `rustup target add aarch64-unknown-linux-gnu` (plus gcc-aarch64-linux-gnu),
#      scripts/build-handler.sh uses it when the Debian route is absent, and
#      `WEBHOOK_STACK_SKIP_CROSS=1 scripts/setup.sh` skips step 2.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs a step and logs how long it took, so slow steps are visible.
# Never call it in an `if`, `||` or `&&`: bash turns set -e off for
# everything run there, functions included, and failures would go unnoticed.
timed() {
  local what=$1 start=$SECONDS
  shift
  "$@"
  log "$what done in $((SECONDS - start)) s"
}

setup_venv() {
  # Installed once per content of requirements.txt (a stamp in the venv).
  local want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ -x .venv/bin/moto_server ] && [ "$(cat .venv/.requirements 2>/dev/null)" = "$want" ]; then
    return
  fi
  log "installing .venv: the AWS emulator (moto 5.2.5) and the test tools of requirements.txt"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > .venv/.requirements
}

target=aarch64-unknown-linux-gnu
# Debian's rustc-web installs its host std here; the arm64 std goes beside it.
rustlib=/usr/lib/rustlib
# Records which libstd-rust-web-dev version was copied, so a later rustc-web
# upgrade is noticed and the arm64 std is replaced to match.
stamp=$rustlib/$target/.webhook-stack-libstd-version

# libc6-dev-arm64-cross (the arm64 glibc to link against, and the sysroot
# qemu-aarch64-static -L /usr/aarch64-linux-gnu runs with) is only a Recommends
# of gcc-aarch64-linux-gnu, and recommends are not installed here.
# chromium: the headless browser the drift page's test loads it in.
host_packages=(rustc-web gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static chromium)

apt_updated=0
apt_update_once() {
  [ "$apt_updated" = 1 ] && return
  log "apt-get update"
  timed "apt-get update" apt-get update -qq
  apt_updated=1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

setup_host_packages() {
  local missing=() p
  for p in "${host_packages[@]}"; do
    installed "$p" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root (apt-get)"
  apt_update_once
  log "installing ${missing[*]}"
  timed "apt-get install" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

rustc_web_version() { dpkg-query -W -f='${Version}' rustc-web; }

# Compiles an empty crate that uses std for the target: proves the arm64 std is
# present and was built by this very rustc (otherwise rustc says E0514/E0463).
arm64_std_works() {
  local out
  out=$(mktemp -d)
  if printf 'pub fn f() -> String { std::env::args().collect() }\n' |
    /usr/bin/rustc --edition 2021 --target "$target" --crate-type lib --emit metadata \
      --crate-name probe -o "$out/probe.rmeta" - 2>"$out/err"; then
    rm -rf "$out"
    return 0
  fi
  sed 's/^/  rustc: /' "$out/err" >&2
  rm -rf "$out"
  return 1
}

setup_arm64_std() {
  local want
  want=$(rustc_web_version)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && arm64_std_works; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "installing the arm64 std into $rustlib needs root"
  log "fetching the arm64 standard library (libstd-rust-web-dev:arm64 $want)"
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $work now: it is local
  trap "rm -rf '$work'" EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
  # A private apt state: arm64-only package lists in $work, so the host's
  # lists, caches and architectures (dpkg --add-architecture) stay untouched.
  # Sandbox::User=root because the _apt user cannot enter the 0700 temp dir.
  local apt_arm64=(
    -oAPT::Architecture=arm64 -oAPT::Architectures=arm64
    "-oDir::State::Lists=$work/lists" "-oDir::Cache=$work/cache"
    -oAPT::Sandbox::User=root
  )
  timed "apt-get update (arm64 lists)" apt-get "${apt_arm64[@]}" update -qq
  # Ask for exactly the host rustc's version: a std from any other rustc
  # version cannot be linked (rustc rejects it with E0514).
  (cd "$work/deb" && apt-get "${apt_arm64[@]}" download -qq "libstd-rust-web-dev:arm64=$want") ||
    die "libstd-rust-web-dev:arm64 version $want (to match rustc-web $want) is not in the arm64 package lists; run 'apt-get update && apt-get install rustc-web' so both come from the same archive state, then rerun"
  local deb got
  deb=$(ls "$work"/deb/libstd-rust-web-dev_*_arm64.deb)
  got=$(dpkg-deb -f "$deb" Version)
  [ "$got" = "$want" ] || die "downloaded libstd-rust-web-dev:arm64 $got but rustc-web is $want"
  dpkg -x "$deb" "$work/x"
  [ -d "$work/x$rustlib/$target/lib" ] || die "$deb has no $rustlib/$target/lib"
  # Replace as a whole: a leftover std of another version would be ambiguous.
  rm -rf "$rustlib/$target.new"
  cp -a "$work/x$rustlib/$target" "$rustlib/$target.new"
  printf '%s\n' "$got" >"$rustlib/$target.new/.webhook-stack-libstd-version"
  rm -rf "${rustlib:?}/${target:?}"
  mv "$rustlib/$target.new" "$rustlib/$target"
  rm -rf "$work"
  trap - EXIT
  arm64_std_works || die "/usr/bin/rustc cannot use the arm64 std in $rustlib/$target"
  log "arm64 std $got installed in $rustlib/$target"
}

setup_cross() {
  if [ "${WEBHOOK_STACK_SKIP_CROSS:-0}" = 1 ]; then
    log "WEBHOOK_STACK_SKIP_CROSS=1: skipping the arm64 toolchain"
    return
  fi
  setup_host_packages
  [ -x /usr/bin/rustc ] || die "rustc-web is installed but /usr/bin/rustc is missing"
  setup_arm64_std
}

timed "python venv" setup_venv
timed "arm64 cross toolchain" setup_cross

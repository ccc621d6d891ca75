#!/usr/bin/env bash
# Builds the Lambda handler (package webhook-handler, bin `bootstrap`) for
# arm64 Lambda (provided.al2023): profile `lambda` (release, fat LTO, one codegen unit),
# aarch64-unknown-linux-gnu, glibc <= 2.34.
#
#   scripts/build-handler.sh [--out DIR] [-j N]
#
# Prints the path of the checked executable on stdout (nothing else goes to
# stdout); cargo's progress and our messages go to stderr.
# Exit status: 0 ok, 1 build or check failed, 2 usage, 3 toolchain missing
# (run scripts/setup.sh). src/package.rs relies on these.
#
# Toolchain, in order of preference:
#   - Debian route (what scripts/setup.sh installs): /usr/bin/rustc from
#     rustc-web plus the arm64 std copied into /usr/lib/rustlib. rustup's rustc
#     stays first on PATH, so Debian's is named through RUSTC.
#   - rustup route: `rustup target add aarch64-unknown-linux-gnu` done by hand
#     (rustup's server is not reachable from our machines).
#   Both link with aarch64-linux-gnu-gcc (Debian package gcc-aarch64-linux-gnu).
#
# Reproducible output: the same source gives a byte-identical binary, whatever
# the checkout directory or CARGO_HOME (paths are remapped), at any time (no
# timestamps; SOURCE_DATE_EPOCH fixed), with no build id. The flags below are
# part of cargo's fingerprint: changing them rebuilds every arm64 crate
# (~10-20 min on 2 cores), so keep them stable.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=aarch64-unknown-linux-gnu
triple_env=AARCH64_UNKNOWN_LINUX_GNU
cross_cc=aarch64-linux-gnu-gcc
objdump=aarch64-linux-gnu-objdump
# Lambda provided.al2023 ships glibc 2.34.
max_glibc=2.34

log() { printf 'build-handler: %s\n' "$*" >&2; }
fail() { printf 'build-handler: error: %s\n' "$*" >&2; exit 1; }
missing() { printf 'build-handler: toolchain missing: %s; run scripts/setup.sh\n' "$*" >&2; exit 3; }
usage() { printf 'usage: %s [--out DIR] [-j N]\n' "$0" >&2; exit 2; }

out_dir=
jobs=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] || usage; out_dir=$2; shift 2 ;;
    --out=*) out_dir=${1#--out=}; shift ;;
    -j) [ $# -ge 2 ] || usage; jobs=(-j "$2"); shift 2 ;;
    -j*) jobs=(-j "${1#-j}"); shift ;;
    -h | --help) usage ;;
    *) printf 'build-handler: unknown argument: %s\n' "$1" >&2; usage ;;
  esac
done

command -v cargo >/dev/null || missing "cargo is not on PATH"
command -v "$cross_cc" >/dev/null || missing "$cross_cc (Debian package gcc-aarch64-linux-gnu)"
command -v "$objdump" >/dev/null || missing "$objdump (Debian package binutils-aarch64-linux-gnu)"
# gcc finds no C runtime without the arm64 glibc; the link would fail late.
[ "$("$cross_cc" -print-file-name=crti.o)" != crti.o ] || missing "arm64 glibc for $cross_cc (Debian package libc6-dev-arm64-cross)"

if [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/$target/lib ]; then
  rustc=/usr/bin/rustc
elif command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  rustc=$(rustup which rustc)
else
  missing "no Rust standard library for $target (neither Debian's in /usr/lib/rustlib nor rustup's)"
fi
log "rustc: $rustc ($("$rustc" -V))"

cargo_home=${CARGO_HOME:-$HOME/.cargo}
target_dir=${CARGO_TARGET_DIR:-$root/target}
# Cargo splits these env flags on whitespace, so a path with a space would
# break the remapping silently; refuse instead.
for p in "$root" "$cargo_home" "$target_dir"; do
  case $p in *[[:space:]]*) fail "path '$p' contains whitespace; the remap flags cannot express it" ;; esac
done

# Remap the checkout, the target dir (its OUT_DIRs hold generated code) and the
# registry sources, so panic locations and file!() hold no machine paths. When
# several prefixes match, rustc applies the last one given, so the most
# specific ones come last.
# shellcheck disable=SC2054 # the commas belong to the linker argument
rustflags=(
  "--remap-path-prefix=$cargo_home=/cargo"
  "--remap-path-prefix=$root=/build"
  "--remap-path-prefix=$target_dir=/build/target"
  # No symbols and no build id: both only vary or add bytes; Lambda needs neither.
  -Cstrip=symbols
  -Clink-arg=-Wl,--build-id=none
)
# Target-specific env, not RUSTFLAGS: host builds (build scripts, proc macros,
# the CLI itself) keep their cache. RUSTFLAGS and friends would override the
# target-specific flags, so they are cleared.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS
export "CARGO_TARGET_${triple_env}_RUSTFLAGS=${rustflags[*]}"
export "CARGO_TARGET_${triple_env}_LINKER=$cross_cc"
# C code (aws-lc-sys via cc): the cross compiler and archiver, and the same
# path remapping for __FILE__ strings.
export CC_aarch64_unknown_linux_gnu=$cross_cc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CFLAGS_aarch64_unknown_linux_gnu="-ffile-prefix-map=$cargo_home=/cargo -ffile-prefix-map=$root=/build"
# Fixed, not the commit time: a changing value would rebuild every crate whose
# build script watches it. 315532800 = 1980-01-01T00:00:00Z.
export SOURCE_DATE_EPOCH=315532800
export RUSTC=$rustc

# Profile `lambda` (Cargo.toml): release with fat LTO and one codegen unit.
log "cargo build --profile lambda --target $target -p webhook-handler --bin bootstrap ${jobs[*]}"
start=$SECONDS
if ! (cd "$root" && cargo build --profile lambda --locked --target "$target" -p webhook-handler --bin bootstrap "${jobs[@]}"); then
  fail "cargo build failed (see above)"
fi
log "cargo build took $((SECONDS - start)) s"

bin=$target_dir/$target/lambda/bootstrap
[ -f "$bin" ] || fail "cargo succeeded but $bin does not exist"

# The result must be an arm64 ELF...
"$objdump" -f "$bin" 2>/dev/null | grep -q 'file format elf64-littleaarch64' ||
  fail "$bin is not an aarch64 ELF executable"
# ...needing no glibc symbol version newer than Lambda's. sort -V orders 2.9 < 2.34.
need=$("$objdump" -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
[ -n "$need" ] || fail "$bin requires no GLIBC_ symbol versions; is it really dynamically linked against glibc?"
if [ "$(printf '%s\n%s\n' "$need" "$max_glibc" | sort -V | tail -n1)" != "$max_glibc" ]; then
  fail "$bin needs GLIBC_$need, newer than Lambda provided.al2023's $max_glibc: $("$objdump" -T "$bin" | grep "GLIBC_$need" | awk '{print $NF}' | tr '\n' ' ')"
fi
log "ok: aarch64 ELF, needs glibc <= $need, $(stat -c %s "$bin") bytes, sha256 $(sha256sum "$bin" | cut -d' ' -f1)"

if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  # cp then rename: a reader of DIR/bootstrap never sees a partial file.
  cp "$bin" "$out_dir/.bootstrap.tmp"
  chmod 0755 "$out_dir/.bootstrap.tmp"
  mv -f "$out_dir/.bootstrap.tmp" "$out_dir/bootstrap"
  bin=$(cd "$out_dir" && pwd)/bootstrap
fi
printf '%s\n' "$bin"

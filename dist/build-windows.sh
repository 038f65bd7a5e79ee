#!/usr/bin/env bash
# Cross-builds the Windows release from Linux (target x86_64-pc-windows-gnu, MinGW-w64) into
# dist/out/:
#   codexmanager-VERSION-windows-x86_64.exe            the single executable
#   codexmanager-VERSION-windows-x86_64-portable.zip   the same in a folder with a `portable`
#                                                      file, so data stays beside it
# then runs the wine smoke test (dist/smoke-windows.sh; CODEXMANAGER_SKIP_SMOKE=1 skips it).
# Installs the Rust target with rustup and MinGW with apt-get when they are missing and it
# can; otherwise it stops and says what is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

target=x86_64-pc-windows-gnu
mingw_tools=(x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres x86_64-w64-mingw32-ar)

need cargo "to build the executable"

sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/$target" ]; then
  command -v rustup >/dev/null 2>&1 ||
    die "the Rust target $target is not installed and rustup is missing, so it cannot be added"
  say "adding the Rust target $target"
  rustup target add "$target" ||
    die "cannot install the Rust target $target (rustup target add failed: no network or no such toolchain component)"
fi

missing_tools() {
  local tool
  for tool in "${mingw_tools[@]}" zip; do
    command -v "$tool" >/dev/null 2>&1 || return 0
  done
  return 1
}
if missing_tools; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing MinGW-w64 and zip (gcc-mingw-w64-x86-64 zip)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 zip >/dev/null ||
      die "cannot install MinGW-w64: apt-get install gcc-mingw-w64-x86-64 zip failed"
  fi
  for tool in "${mingw_tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "MinGW-w64 is not installed ($tool is missing); install gcc-mingw-w64-x86-64 (Debian/Ubuntu) and run again"
  done
  need zip "to pack the portable .zip"
fi

say "building the release executable (cargo build --release --target $target)"
(cd "$REPO_DIR" && cargo build --release --locked --target "$target")
exe="$REPO_DIR/target/$target/release/codexmanager.exe"
[ -f "$exe" ] || die "cargo finished but $exe is missing"

version=$(crate_version)
name="codexmanager-$version-windows-x86_64"
mkdir -p "$OUT_DIR"
install -m 0755 "$exe" "$OUT_DIR/$name.exe"
say "wrote $OUT_DIR/$name.exe ($(human_size "$OUT_DIR/$name.exe"))"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/CodexManager"
install -m 0755 "$exe" "$stage/CodexManager/codexmanager.exe"
printf '%s\r\n' \
  "While this file sits beside codexmanager.exe, CodexManager keeps its database, key file," \
  "logs and env file (codexmanager.env) in this folder. Delete it to use %APPDATA%\\CodexManager." \
  >"$stage/CodexManager/portable"
rm -f "$OUT_DIR/$name-portable.zip"
(cd "$stage" && zip -qrX "$OUT_DIR/$name-portable.zip" CodexManager)
say "wrote $OUT_DIR/$name-portable.zip ($(human_size "$OUT_DIR/$name-portable.zip"))"

if [ "${CODEXMANAGER_SKIP_SMOKE:-}" = 1 ]; then
  say "CODEXMANAGER_SKIP_SMOKE=1: the wine smoke test is skipped"
else
  "$DIST_DIR/smoke-windows.sh" "$OUT_DIR/$name-portable.zip"
fi

#!/usr/bin/env bash
# Smoke-tests the Windows build under wine, from the portable .zip:
#   1. `codexmanager.exe --version` prints the version to the terminal;
#   2. `codexmanager.exe serve` creates its database, key file and logs beside the .exe
#      (portable mode; the address comes from codexmanager.env beside it) and answers /health;
#   3. the window renders under Xvfb; the screenshot goes to dist/out/smoke/windows-window.png.
# Usage: dist/smoke-windows.sh dist/out/codexmanager-VERSION-windows-x86_64-portable.zip
# Needs wine64 (8.0 or later), Xvfb, ImageMagick, xdotool, curl, unzip and MinGW-w64 gcc (for
# the bcryptprimitives.dll stub wine 8 lacks); installs them with apt-get when it can.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] && [ -f "$1" ] || die "usage: dist/smoke-windows.sh PORTABLE_ZIP"
zip_file=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
version=$(crate_version)

find_wine() {
  command -v wine64 || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || command -v wine || true
}
packages=(wine64 xvfb imagemagick xdotool curl unzip gcc-mingw-w64-x86-64)
if [ -z "$(find_wine)" ] || ! command -v Xvfb >/dev/null || ! command -v import >/dev/null ||
  ! command -v xdotool >/dev/null || ! command -v curl >/dev/null || ! command -v unzip >/dev/null ||
  ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing the smoke-test tools (${packages[*]})"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null ||
      die "cannot install the smoke-test tools: apt-get install ${packages[*]} failed"
  fi
fi
wine=$(find_wine)
[ -n "$wine" ] || die "wine is not installed (Debian/Ubuntu: apt-get install wine64)"
wineserver=$(command -v wineserver || echo "$(dirname "$wine")/wineserver")
[ -x "$wineserver" ] || die "wineserver not found beside $wine"
need Xvfb "for the window test (package xvfb)"
need import "for the screenshot (package imagemagick)"
need xdotool "to find the window (package xdotool)"
need curl "to call /health"
need unzip "to unpack the portable .zip"
need x86_64-w64-mingw32-gcc "to build the bcryptprimitives.dll stub (package gcc-mingw-w64-x86-64)"

work=$(mktemp -d)
xvfb_pid=""
cleanup() {
  WINEPREFIX="$work/prefix" "$wineserver" -k 2>/dev/null || true
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset WAYLAND_DISPLAY

# A private X server for wine and the window: -displayfd picks a free display number.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || die "Xvfb did not start: $(cat "$work/xvfb.log")"
DISPLAY=":$(cat "$work/display")"
export DISPLAY

say "creating a wine prefix ($("$wine" --version 2>/dev/null || echo wine))"
"$wine" wineboot -i >"$work/wineboot.log" 2>&1 || die "wineboot failed: $(tail -n 5 "$work/wineboot.log")"
"$wineserver" -w
# Rust's standard library calls ProcessPrng from bcryptprimitives.dll, which wine 8 lacks;
# a two-line stub over RtlGenRandom stands in for it. Newer wine ships the DLL.
system32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -e "$system32/bcryptprimitives.dll" ]; then
  say "adding a bcryptprimitives.dll stub (ProcessPrng) to the wine prefix"
  cat >"$work/bcp.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return RtlGenRandom(data, (ULONG)len); }
C
  x86_64-w64-mingw32-gcc -shared -O2 -o "$system32/bcryptprimitives.dll" "$work/bcp.c" -ladvapi32
fi

unzip -q "$zip_file" -d "$work"
app="$work/CodexManager"
[ -f "$app/codexmanager.exe" ] && [ -f "$app/portable" ] || die "the .zip lacks CodexManager/codexmanager.exe or CodexManager/portable"
port=$((20000 + RANDOM % 20000))
printf 'CODEXMANAGER_SERVICE_ADDR=127.0.0.1:%s\n' "$port" >"$app/codexmanager.env"

# 1. --version reaches the terminal (the release .exe is a GUI program attaching a console).
out=$("$wine" "$app/codexmanager.exe" --version 2>&1 | tr -d '\r') || die "--version failed: $out"
case "$out" in
  *"codexmanager $version"*) say "--version printed: $out" ;;
  *) die "--version printed '$out', expected 'codexmanager $version (...)'" ;;
esac

# 2. serve: portable data beside the .exe, /health answers.
"$wine" "$app/codexmanager.exe" serve >"$work/serve.log" 2>&1 &
serve_pid=$!
health=""
for _ in $(seq 90); do
  health=$(curl -fsS "http://127.0.0.1:$port/health" 2>/dev/null) && break
  kill -0 "$serve_pid" 2>/dev/null || die "serve exited early: $(tr -d '\r' <"$work/serve.log" | tail -n 20)"
  sleep 1
done
[ -n "$health" ] || die "/health did not answer on 127.0.0.1:$port within 90 s: $(tr -d '\r' <"$work/serve.log" | tail -n 20)"
say "/health answered: $health"
for file in codexmanager.db codexmanager.key logs; do
  [ -e "$app/$file" ] || die "portable mode: $file was not created beside the .exe (folder holds: $(ls "$app"))"
done
grep -q "key file" "$work/serve.log" || die "serve did not report the key file as its secret store: $(tr -d '\r' <"$work/serve.log" | tail -n 20)"
if find "$WINEPREFIX/drive_c/users" -maxdepth 4 -iname CodexManager | grep -q .; then
  die "portable mode: data was also written under the user's AppData"
fi
say "portable mode: database, key file and logs are beside the .exe; nothing in AppData"
kill -INT "$serve_pid" 2>/dev/null || true
"$wineserver" -k 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true

# 3. the window renders.
"$wine" "$app/codexmanager.exe" >"$work/window.log" 2>&1 &
window=""
for _ in $(seq 60); do
  window=$(xdotool search --onlyvisible --name '^CodexManager' 2>/dev/null | head -n 1) && [ -n "$window" ] && break
  sleep 1
done
[ -n "$window" ] || die "no CodexManager window appeared within 60 s: $(tr -d '\r' <"$work/window.log" | tail -n 20)"
sleep 8
mkdir -p "$OUT_DIR/smoke"
shot="$OUT_DIR/smoke/windows-window.png"
import -window root "$shot"
colours=$(identify -format '%k' "$shot")
[ "$colours" -gt 50 ] || die "the screenshot $shot looks blank ($colours colours)"
say "window rendered; screenshot: $shot ($colours colours)"
say "wine smoke test passed"

#!/usr/bin/env bash
# Builds every release artifact this Linux machine can make, into dist/out/: the Linux
# .tar.gz and .deb (dist/build-linux.sh), the Windows .exe and portable .zip cross-built
# with MinGW and smoke-tested under wine (dist/build-windows.sh), then SHA256SUMS and
# manifest.json (dist/release.sh). Artifacts left in dist/out/ by an earlier run are removed
# first. The macOS bundle is built on a Mac with dist/build-macos.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mkdir -p "$OUT_DIR"
find "$OUT_DIR" -maxdepth 1 -type f -delete
"$DIST_DIR/build-linux.sh"
"$DIST_DIR/build-windows.sh"
"$DIST_DIR/release.sh"
say "done: artifacts, SHA256SUMS and manifest.json are in $OUT_DIR"

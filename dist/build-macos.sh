#!/usr/bin/env bash
# Builds the macOS release on a Mac into dist/out/:
#   codexmanager-VERSION-macos-universal.zip   CodexManager.app for Apple silicon and Intel
# The bundle is ad-hoc signed (no Developer ID, not notarised): on first start macOS asks the
# user to allow it (see docs/packaging.md). Needs cargo and rustup plus the tools every Mac
# has: lipo, sips, iconutil, plutil, codesign and ditto.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ "$(uname -s)" = Darwin ] || die "dist/build-macos.sh runs on macOS only (it needs lipo, sips, iconutil, codesign, ditto)"
for tool in cargo rustup lipo sips iconutil plutil codesign ditto; do
  need "$tool" "to build the macOS bundle"
done

version=$(crate_version)
targets="aarch64-apple-darwin x86_64-apple-darwin"
# shellcheck disable=SC2086 # the target list is meant to split into words
rustup target add $targets
binaries=""
for target in $targets; do
  say "building the release binary for $target"
  (cd "$REPO_DIR" && cargo build --release --locked --target "$target")
  binaries="$binaries $REPO_DIR/target/$target/release/codexmanager"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
app="$stage/CodexManager.app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
# shellcheck disable=SC2086
lipo -create -output "$app/Contents/MacOS/codexmanager" $binaries
sed "s/@VERSION@/$version/g" "$DIST_DIR/macos/Info.plist" >"$app/Contents/Info.plist"
plutil -lint "$app/Contents/Info.plist" >/dev/null || die "Info.plist is not valid"

# The .icns: the 256 px source scaled to each size an iconset names (up to 256@2x = 512 px).
iconset="$stage/codexmanager.iconset"
mkdir -p "$iconset"
for size in 16 32 128 256; do
  sips -z "$size" "$size" "$REPO_DIR/assets/icon.png" --out "$iconset/icon_${size}x${size}.png" >/dev/null
  double=$((size * 2))
  sips -z "$double" "$double" "$REPO_DIR/assets/icon.png" --out "$iconset/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns -o "$app/Contents/Resources/codexmanager.icns" "$iconset"

codesign --force --sign - --timestamp=none "$app"
mkdir -p "$OUT_DIR"
zip_file="$OUT_DIR/codexmanager-$version-macos-universal.zip"
rm -f "$zip_file"
ditto -c -k --keepParent "$app" "$zip_file"
say "wrote $zip_file ($(human_size "$zip_file"))"

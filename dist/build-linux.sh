#!/usr/bin/env bash
# Builds the Linux release artifacts into dist/out/:
#   codexmanager-VERSION-linux-ARCH.tar.gz   the stripped binary, its .desktop file and icon
#   codexmanager_VERSION_DEBARCH.deb         the same, installed to /usr with a menu entry
# and prints the glibc floor (the newest GLIBC_ symbol version the binary needs).
# Runs on the machine it builds for (x86_64 or aarch64); needs cargo, tar, objdump, dpkg-deb.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need cargo "to build the binary"
need tar "to pack the .tar.gz"
need objdump "(binutils) to find the glibc version the binary needs"
need dpkg-deb "to build the .deb (Debian/Ubuntu package: dpkg)"

version=$(crate_version)
case "$(uname -m)" in
  x86_64) arch=x86_64 deb_arch=amd64 ;;
  aarch64 | arm64) arch=aarch64 deb_arch=arm64 ;;
  *) die "unsupported machine $(uname -m); build on x86_64 or aarch64 Linux" ;;
esac

say "building the release binary (cargo build --release)"
(cd "$REPO_DIR" && cargo build --release --locked)
bin="$REPO_DIR/target/release/codexmanager"
[ -x "$bin" ] || die "cargo finished but $bin is missing"

glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
[ -n "$glibc" ] || die "found no GLIBC_ symbol versions in $bin"
say "glibc floor: $glibc (the binary runs where glibc >= $glibc)"

mkdir -p "$OUT_DIR"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# .tar.gz: one folder holding the program, its desktop entry and icon.
name="codexmanager-$version-linux-$arch"
mkdir -p "$stage/$name"
install -m 0755 "$bin" "$stage/$name/codexmanager"
install -m 0644 "$DIST_DIR/linux/codexmanager.desktop" "$stage/$name/codexmanager.desktop"
install -m 0644 "$REPO_DIR/assets/icon.png" "$stage/$name/codexmanager.png"
tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$OUT_DIR/$name.tar.gz" "$name"
say "wrote $OUT_DIR/$name.tar.gz ($(human_size "$OUT_DIR/$name.tar.gz"))"

# .deb: a staged /usr tree packed with plain dpkg-deb. X11, Wayland, GL and xkbcommon are
# loaded at run time (dlopen), so they are recommended rather than required: `serve` on a
# server needs none of them.
root="$stage/deb"
install -D -m 0755 "$bin" "$root/usr/bin/codexmanager"
install -D -m 0644 "$DIST_DIR/linux/codexmanager.desktop" "$root/usr/share/applications/codexmanager.desktop"
install -D -m 0644 "$REPO_DIR/assets/icon.png" "$root/usr/share/icons/hicolor/256x256/apps/codexmanager.png"
mkdir -p "$root/usr/share/doc/codexmanager"
printf 'CodexManager %s\nLicense: MIT\n' "$version" >"$root/usr/share/doc/codexmanager/copyright"
mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: codexmanager
Version: $version
Architecture: $deb_arch
Maintainer: CodexManager maintainers
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Depends: libc6 (>= $glibc), libgcc-s1
Recommends: libgl1, libegl1, libx11-6, libx11-xcb1, libxcursor1, libxi6, libxrender1, libxkbcommon0, libxkbcommon-x11-0, libwayland-client0, libwayland-egl1
Section: net
Priority: optional
Description: Desktop manager and local gateway for a pool of ChatGPT (Codex) accounts
 CodexManager keeps a pool of ChatGPT (Codex) accounts and serves them to coding tools
 through a local gateway speaking the OpenAI, Anthropic and Azure OpenAI protocols.
 Run "codexmanager" for the window or "codexmanager serve" for the gateway alone.
CONTROL
deb="$OUT_DIR/codexmanager_${version}_${deb_arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
say "wrote $deb ($(human_size "$deb"))"

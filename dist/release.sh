#!/usr/bin/env bash
# Writes the release metadata for the artifacts in dist/out/: SHA256SUMS (sha256sum format)
# and manifest.json (per artifact: name, version, platform, size in bytes, sha256).
#
#   dist/release.sh                  describe the artifacts now in dist/out/
#   dist/release.sh --merge DIR      also keep the entries of DIR/manifest.json (a release's
#                                    previous metadata) for artifacts not rebuilt now, so the
#                                    Linux, Windows and macOS workflows add up on one release
#
# Artifacts are the regular files directly in dist/out/ (sub-folders such as smoke/ are not
# released). CODEXMANAGER_DIST_OUT points it at another folder.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

merge_dir=""
case "${1:-}" in
  "") ;;
  --merge) [ $# -eq 2 ] || die "usage: dist/release.sh [--merge DIR]"; merge_dir=$2 ;;
  *) die "usage: dist/release.sh [--merge DIR]" ;;
esac
need python3 "to write manifest.json"
[ -d "$OUT_DIR" ] || die "$OUT_DIR does not exist; build the artifacts first (dist/build-all.sh)"

version=$(crate_version)
commit=$(git -C "$REPO_DIR" rev-parse --short=10 HEAD 2>/dev/null || echo unknown)

python3 - "$OUT_DIR" "$version" "$commit" "$merge_dir" <<'PY'
"""Hashes the artifacts and writes SHA256SUMS and manifest.json (merging a previous one)."""
import hashlib
import json
import os
import sys

out_dir, version, commit, merge_dir = sys.argv[1:5]
METADATA = {"SHA256SUMS", "manifest.json"}


def platform_of(name):
    lower = name.lower()
    if "windows" in lower or lower.endswith(".exe"):
        return "windows"
    if "macos" in lower or lower.endswith(".dmg"):
        return "macos"
    if "linux" in lower or lower.endswith(".deb") or lower.endswith(".appimage"):
        return "linux"
    sys.exit(f"error: cannot tell the platform of {name}; artifact names carry windows, linux or macos")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


artifacts = {}
if merge_dir:
    previous = os.path.join(merge_dir, "manifest.json")
    if os.path.isfile(previous):
        with open(previous, encoding="utf-8") as f:
            for entry in json.load(f).get("artifacts", []):
                artifacts[entry["name"]] = entry

for name in sorted(os.listdir(out_dir)):
    path = os.path.join(out_dir, name)
    if name in METADATA or name.startswith(".") or not os.path.isfile(path):
        continue
    artifacts[name] = {
        "name": name,
        "version": version,
        "platform": platform_of(name),
        "size": os.path.getsize(path),
        "sha256": sha256_of(path),
    }

if not artifacts:
    sys.exit(f"error: no artifacts in {out_dir}; build them first (dist/build-all.sh)")

entries = [artifacts[name] for name in sorted(artifacts)]
with open(os.path.join(out_dir, "SHA256SUMS"), "w", encoding="utf-8") as f:
    f.writelines(f"{e['sha256']}  {e['name']}\n" for e in entries)
manifest = {"name": "codexmanager", "version": version, "commit": commit, "artifacts": entries}
with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
for e in entries:
    print(f"{e['platform']:8} {e['size']:>10}  {e['name']}", file=sys.stderr)
PY
say "wrote $OUT_DIR/SHA256SUMS and $OUT_DIR/manifest.json"

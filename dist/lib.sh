# shellcheck shell=bash
# Shared helpers for the dist/ scripts (sourced, not run): paths, messages, tool checks, the
# crate version and file sizes.

DIST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$DIST_DIR/.." && pwd)"
# Where artifacts land; CODEXMANAGER_DIST_OUT overrides it.
export OUT_DIR="${CODEXMANAGER_DIST_OUT:-$DIST_DIR/out}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# need TOOL WHY: stops with a clear reason when TOOL is not on PATH.
need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; it is needed $2"
}

# The package version from Cargo.toml (the first `version = "..."`, in [package]).
crate_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO_DIR/Cargo.toml" | head -n 1
}

# human_size FILE: e.g. "17.2 MB" (decimal megabytes, as the docs quote them).
human_size() {
  local bytes
  bytes=$(wc -c <"$1")
  awk -v b="$bytes" 'BEGIN { if (b >= 1000000) printf "%.1f MB\n", b / 1000000; else printf "%.0f kB\n", b / 1000 }'
}

#!/usr/bin/env bash
# Checks that a release tag matches the crate version: `dist/check-tag.sh v0.1.0` succeeds
# only when Cargo.toml says version = "0.1.0". Used by the release workflows before building.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: dist/check-tag.sh TAG (e.g. v$(crate_version))"
tag=$1
version=$(crate_version)
[ -n "$version" ] || die "no version found in $REPO_DIR/Cargo.toml"
[ "$tag" = "v$version" ] || die "tag '$tag' does not match the crate version: Cargo.toml says $version, so the tag must be v$version"
say "tag $tag matches Cargo.toml version $version"

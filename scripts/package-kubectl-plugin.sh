#!/usr/bin/env bash
# Packs the kubectl plugin archive for krew: the compiled CLI (dist/), production dependencies, and
# `kubectl-volume_guard` (a link to the launcher bin/volume-guard.cjs), under kubectl-volume_guard/ in kubectl-volume_guard-VERSION.tar.gz; then writes the
# archive's sha256, uri and version into krew/volume-guard.yaml.
# Usage: scripts/package-kubectl-plugin.sh v0.1.0 [OUT_DIR]
set -euo pipefail
version="${1:?usage: $0 VERSION [OUT_DIR]}"
out="${2:-.}"
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
(cd "$root" && npm run build >/dev/null)
dir="$stage/kubectl-volume_guard"
mkdir -p "$dir"
cp -R "$root/bin" "$root/dist" "$root/package.json" "$root/package-lock.json" "$dir/"
[ -f "$root/LICENSE" ] && cp "$root/LICENSE" "$dir/"
(cd "$dir" && npm ci --omit=dev --ignore-scripts >/dev/null)
# The plugin is the CLI's launcher (#!/usr/bin/env node; checks the Node version, loads dist/cli.js) under the
# name kubectl looks for; run under that name the CLI calls itself `kubectl volume-guard` in its usage lines.
chmod +x "$dir/bin/volume-guard.cjs"
ln -s bin/volume-guard.cjs "$dir/kubectl-volume_guard"
archive="$out/kubectl-volume_guard-$version.tar.gz"
tar -C "$stage" -czf "$archive" kubectl-volume_guard
sum="$(sha256sum "$archive" | cut -d' ' -f1)"
manifest="$root/krew/volume-guard.yaml"
sed -i -E "s|^(  version: ).*|\1$version|; s|^(      sha256: ).*|\1\"$sum\"|; s|(releases/download/)[^/]+/kubectl-volume_guard-[^ ]+\.tar\.gz|\1$version/kubectl-volume_guard-$version.tar.gz|" "$manifest"
echo "$archive sha256 $sum"

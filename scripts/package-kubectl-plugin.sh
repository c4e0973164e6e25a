#!/usr/bin/env bash
# Packs the kubectl plugin archive for krew: the CLI compiled from src/, its production dependencies, and
# `kubectl-volume_guard` (krew/kubectl-volume_guard, which loads the launcher bin/volume-guard.cjs beside it), under
# kubectl-volume_guard/ in kubectl-volume_guard-VERSION.tar.gz; then writes the archive's sha256, uri and version into
# the krew manifest (krew/volume-guard.yaml, or $KREW_MANIFEST).
# krew unpacks only regular files and directories (a link fails its install with "unable to handle file type") and
# refuses names holding "..": the launcher is a file, npm makes no node_modules/.bin links, and the tree is checked
# before the archive is written.
# Usage: scripts/package-kubectl-plugin.sh v0.1.0 [OUT_DIR]
set -euo pipefail
version="${1:?usage: $0 VERSION [OUT_DIR]}"
out="${2:-.}"
root="$(cd "$(dirname "$0")/.." && pwd)"
manifest="${KREW_MANIFEST:-$root/krew/volume-guard.yaml}"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dir="$stage/kubectl-volume_guard"
mkdir -p "$dir"
# Compiled into the archive, not the checkout's dist/ (which may hold files of sources since removed).
(cd "$root" && npm run build -- --outDir "$dir/dist" >/dev/null)
cp -R "$root/bin" "$root/package.json" "$root/package-lock.json" "$dir/"
[ -f "$root/LICENSE" ] && cp "$root/LICENSE" "$dir/"
(cd "$dir" && npm ci --omit=dev --ignore-scripts --no-bin-links --no-audit --no-fund >/dev/null)
# The plugin, under the name kubectl looks for; run under that name the CLI calls itself `kubectl volume-guard`.
install -m 0755 "$root/krew/kubectl-volume_guard" "$dir/kubectl-volume_guard"
chmod +x "$dir/bin/volume-guard.cjs"
odd="$(find "$dir" ! -type f ! -type d)"
if [ -n "$odd" ]; then
  echo "package-kubectl-plugin: krew unpacks only regular files and directories; remove these from the archive:" >&2
  echo "$odd" | sed "s|^$stage/||" >&2
  exit 1
fi
# krew also refuses any entry whose name holds "..".
dots="$(cd "$stage" && find kubectl-volume_guard -name '*..*')"
if [ -n "$dots" ]; then
  echo "package-kubectl-plugin: krew refuses entries whose name holds \"..\"; remove these from the archive:" >&2
  echo "$dots" >&2
  exit 1
fi
archive="$out/kubectl-volume_guard-$version.tar.gz"
# Files npm hard-linked would be stored as tar hard links, which krew refuses too: store each as a file.
tar -C "$stage" --hard-dereference -czf "$archive" kubectl-volume_guard
sum="$(sha256sum "$archive" | cut -d' ' -f1)"
sed -i -E "s|^(  version: ).*|\1$version|; s|^(      sha256: ).*|\1\"$sum\"|; s|(releases/download/)[^/]+/kubectl-volume_guard-[^ ]+\.tar\.gz|\1$version/kubectl-volume_guard-$version.tar.gz|" "$manifest"
echo "$archive sha256 $sum"

#!/usr/bin/env bash
# Verifies the project's pinned Node binary (node_modules/node/bin/node) against scripts/node-pin.txt before
# anything runs it: the `node` devDependency downloads its platform package from an install script, outside the
# lockfile's integrity checks. Plain bash and sha256sum, so a tampered Node cannot vouch for itself.
# Exit 0 when it matches; 1 with a message naming what differs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
pins="$repo/scripts/node-pin.txt"
fail() { printf 'verify-node: %s\n' "$*" >&2; exit 1; }

case "$(uname -s)" in Linux) platform=linux ;; Darwin) platform=darwin ;; *) platform="$(uname -s | tr '[:upper:]' '[:lower:]')" ;; esac
case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac

line="$(grep -v '^#' "$pins" | awk -v key="$platform-$arch" '$1 == key' | head -1)"
[ -n "$line" ] || fail "no pinned Node for $platform-$arch in scripts/node-pin.txt (add one: see the file's header)"
read -r _ package integrity binary_sha <<<"$line"
name="${package%@*}"
version="${package##*@}"

declared="$(awk '/"devDependencies"/ { inside = 1 } inside && /"node":/ { gsub(/[",]/, "", $2); print $2; exit } inside && /}/ { inside = 0 }' "$repo/package.json")"
[ "$declared" = "$version" ] || fail "package.json pins node \"$declared\", scripts/node-pin.txt pins $version"

nested="$repo/node_modules/node/node_modules/.package-lock.json"
[ -f "$nested" ] || fail "$nested missing: the node devDependency's install script did not run (npm ci)"
# The nested lockfile npm wrote when the install script installed the platform package.
recorded="$(awk -v key="\"node_modules/$name\"" '
  index($0, key) { inside = 1 }
  inside && /"version"/ { gsub(/[",]/, "", $2); v = $2 }
  inside && /"integrity"/ { gsub(/[",]/, "", $2); print v, $2; exit }
' "$nested")"
[ "$recorded" = "$version $integrity" ] || fail "$name installed as \"$recorded\", pinned $version $integrity"

binary="$repo/node_modules/node/bin/node"
[ -f "$binary" ] || fail "$binary missing"
actual="$(sha256sum "$binary" | awk '{print $1}')"
[ "$actual" = "$binary_sha" ] || fail "$binary has sha256 $actual, pinned $binary_sha ($package): do not run it; reinstall with npm ci"
printf 'verify-node: %s %s verified (sha256 %s)\n' "$platform-$arch" "$package" "$actual"

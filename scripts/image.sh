#!/usr/bin/env bash
# npm run image: volume-guard's container image from the project's own Dockerfile, built on this machine with
# Docker Engine from Debian (docker.io) and imported into the whole test cluster's containerd. No registry is
# reachable here, so the Dockerfile's base (ARG NODE_IMAGE, node:<major>-bookworm-slim) is assembled locally:
# a Debian bookworm root filesystem from debootstrap, the Node binary the `node` npm package brought
# (node_modules/node/bin/node, the version package.json pins) and npm from the npm registry (the build stages run
# `npm ci`). The build gets the npm registry this machine uses (--build-arg NPM_CONFIG_REGISTRY).
#
# Cached: the base is rebuilt only when Node, npm or this script change; the image only when the Dockerfile, the
# base or what it copies (package*.json, tsconfig*.json, src/) change. Root only (Docker Engine, debootstrap).
# Its own dockerd: socket, data and exec roots under .cluster/image and /run, no bridge, no iptables, no
# masquerading (the build uses the host network to reach the npm registry).
# The last line printed is the image reference imported into the node's containerd (when it runs).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
dir="${IMAGE_DIR:-$repo/.cluster/image}"
say() { printf 'image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (Docker Engine, debootstrap)"
mkdir -p "$dir"

need=()
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]} (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || die "apt-get install ${need[*]} failed"
fi

# --- our own dockerd ------------------------------------------------------------------------------------------
docker() { /usr/bin/docker --host "unix://$dir/docker.sock" "$@"; }
if ! docker version >/dev/null 2>&1; then
  exec_root="/run/vg-docker-$(printf '%s' "$dir" | sha256sum | cut -c1-10)"
  say "starting dockerd (log $dir/dockerd.log)"
  setsid /usr/sbin/dockerd --data-root "$dir/docker" --exec-root "$exec_root" --host "unix://$dir/docker.sock" \
    --pidfile "$dir/dockerd.pid" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --userland-proxy=false </dev/null >>"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
  docker version >/dev/null 2>&1 || { tail -20 "$dir/dockerd.log" >&2; die "dockerd did not start"; }
fi

# --- the base image ---------------------------------------------------------------------------------------------
base_ref="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile | head -1)"
[ -n "$base_ref" ] || die "no 'ARG NODE_IMAGE=' in the Dockerfile"
# The Dockerfile pins the real base by digest (tag@sha256:...); a locally assembled stand-in cannot have that digest
# (and docker cannot tag one with it), so it goes by the tag, passed to the build as NODE_IMAGE.
base_ref="${base_ref%%@*}"
node_bin="$(readlink -f node_modules/node/bin/node)"
[ -x "$node_bin" ] || die "node_modules/node/bin/node missing: run npm ci"
node_version="$("$node_bin" --version)"
npm_spec="npm@${NPM_VERSION:-11}"
base_stamp="$(printf '%s %s %s %s' "$node_version" "$npm_spec" "$(sha256sum "$0" | cut -c1-16)" "$(npm config get cafile 2>/dev/null | xargs -r sha256sum 2>/dev/null | cut -c1-16)" | sha256sum | cut -c1-16)"
have_stamp="$(docker image inspect --format '{{ index .Config.Labels "volume-guard.base" }}' "$base_ref" 2>/dev/null || true)"
if [ "$have_stamp" != "$base_stamp" ]; then
  if [ ! -f "$dir/rootfs/.complete" ]; then
    # The Debian mirror apt already uses here.
    # (Comment lines are skipped: deb822 sources often name a snapshot mirror there that is not reachable.)
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -1 || true)"
    [ -n "$mirror" ] || die "no Debian mirror found in the apt sources"
    say "debootstrap bookworm (minbase) from the apt mirror…"
    rm -rf "$dir/rootfs.tmp"
    debootstrap --variant=minbase bookworm "$dir/rootfs.tmp" "$mirror" >"$dir/debootstrap.log" 2>&1 \
      || { tail -20 "$dir/debootstrap.log" >&2; die "debootstrap failed"; }
    touch "$dir/rootfs.tmp/.complete"
    rm -rf "$dir/rootfs"; mv "$dir/rootfs.tmp" "$dir/rootfs"
  fi
  say "assembling $base_ref: bookworm + Node $node_version + $npm_spec"
  rm -rf "$dir/base"; cp -a "$dir/rootfs" "$dir/base"; rm -f "$dir/base/.complete"
  rm -rf "$dir/base/var/cache/apt/archives/"*.deb "$dir/base/var/lib/apt/lists/"*
  install -D -m 0755 "$node_bin" "$dir/base/usr/local/bin/node"
  tgz="$(cd "$dir" && npm pack "$npm_spec" --silent | tail -1)"
  mkdir -p "$dir/base/usr/local/lib/node_modules/npm"
  tar -xzf "$dir/$tgz" -C "$dir/base/usr/local/lib/node_modules/npm" --strip-components=1
  rm -f "$dir/$tgz"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/base/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/base/usr/local/bin/npx"
  # This machine reaches the npm registry through its own CAs (npm's cafile): the stand-in base trusts them too.
  cafile="$(npm config get cafile 2>/dev/null || true)"
  case "$cafile" in ''|null|undefined) cafile=/etc/ssl/certs/ca-certificates.crt ;; esac  # the system's trust store
  ca_env=()
  if [ -n "$cafile" ] && [ -f "$cafile" ]; then
    install -D -m 0644 "$cafile" "$dir/base/etc/ssl/certs/ca-certificates.crt"
    ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  fi
  tar --numeric-owner -C "$dir/base" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL volume-guard.base=$base_stamp" --change 'CMD ["node"]' "${ca_env[@]}" - "$base_ref" >/dev/null
  rm -rf "$dir/base"
fi

# --- the image --------------------------------------------------------------------------------------------------
version="$(node -p 'require("./package.json").version')"
inputs="$( { docker image inspect --format '{{.Id}}' "$base_ref"; sha256sum Dockerfile .dockerignore package.json package-lock.json tsconfig*.json; find src -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-12)"
tag="volume-guard:${version}-${inputs}"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
  registry="$(npm config get registry 2>/dev/null || true)"
  say "docker build -t $tag (npm registry ${registry:-default})…"
  docker build --network host --build-arg "NODE_IMAGE=$base_ref" ${registry:+--build-arg "NPM_CONFIG_REGISTRY=$registry"} -t "$tag" -t "volume-guard:$version" . >&2 \
    || die "docker build failed"
fi
say "$tag: $(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MiB", $1/1048576}')"

# --- into the test node's containerd ------------------------------------------------------------------------------
ref="docker.io/library/$tag"
# The test cluster's directory: TEST_CLUSTER_DIR as the harness reads it (CI's whole cluster runs in its own).
cluster_dir="$(cd "$repo" && realpath -m "${TEST_CLUSTER_DIR:-$repo/.cluster}")"
imported=0
# The first real node's containerd, and the second node's (cluster:up --second-node) when it runs.
for node in node node2; do
  ctr_sock="$cluster_dir/$node/containerd/containerd.sock"
  [ -S "$ctr_sock" ] && ctr --address "$ctr_sock" version >/dev/null 2>&1 || continue
  if ! ctr --address "$ctr_sock" -n k8s.io images ls -q | grep -qx "$ref"; then
    docker save "$tag" | ctr --address "$ctr_sock" -n k8s.io images import - >&2 || die "ctr images import into $node failed"
  fi
  say "imported into the test node's containerd ($node)"
  imported=1
done
[ "$imported" = 1 ] || say "the test node's containerd is not running in $cluster_dir (npm run cluster:up -- --whole): not imported"
echo "$ref"

#!/usr/bin/env bash
# Builds the real node's two local images as OCI archives (nothing is pulled; containerd imports them with
# `ctr images import`):
#   docker.io/local/pause:1     the pods' sandbox: the static `pause` program (images/pause, built by build.sh)
#   docker.io/local/busybox:1   test workloads: Debian's static busybox (package busybox-static) with its applets
# Usage: build-images.sh OUT_DIR PAUSE_BINARY
# Writes OUT_DIR/{pause,busybox}.tar and OUT_DIR/images.stamp (hash of the inputs); does nothing when current.
# Deterministic: sorted entries, uid/gid 0, mtime 0, so the same inputs give the same digests.
set -euo pipefail
out="$1"; pause_bin="$2"
busybox_bin="$(command -v busybox || true)"
[ -x "$pause_bin" ] || { echo "build-images: $pause_bin missing (test/harness/build.sh pause)" >&2; exit 1; }
[ -n "$busybox_bin" ] && file -L "$busybox_bin" | grep -q 'statically linked' \
  || { echo "build-images: a static busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
mkdir -p "$out"
stamp="$(cat "$0" "$pause_bin" "$busybox_bin" | sha256sum | cut -d' ' -f1) $arch"
if [ -f "$out/images.stamp" ] && [ "$(cat "$out/images.stamp")" = "$stamp" ] && [ -f "$out/pause.tar" ] && [ -f "$out/busybox.tar" ]; then
  exit 0
fi
rm -f "$out/images.stamp"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
tar_det() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime "$@"; }

# oci_archive NAME REF ROOTFS CONFIG_JSON_FRAGMENT: one uncompressed layer, an OCI image layout in a tar.
oci_archive() {
  local name="$1" ref="$2" rootfs="$3" cfg="$4"
  local w; w="$(mktemp -d)"
  mkdir -p "$w/blobs/sha256"
  tar_det -C "$rootfs" -cf "$w/layer.tar" .
  local ld ls; ld="$(sha "$w/layer.tar")"; ls="$(size "$w/layer.tar")"; mv "$w/layer.tar" "$w/blobs/sha256/$ld"
  printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$cfg" "$ld" > "$w/config.json"
  local cd cs; cd="$(sha "$w/config.json")"; cs="$(size "$w/config.json")"; mv "$w/config.json" "$w/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$ld" "$ls" > "$w/manifest.json"
  local md ms; md="$(sha "$w/manifest.json")"; ms="$(size "$w/manifest.json")"; mv "$w/manifest.json" "$w/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$ms" "$arch" "$ref" "${ref##*:}" > "$w/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$w/oci-layout"
  tar_det -C "$w" -cf "$out/$name.tar.tmp" oci-layout index.json blobs
  mv -f "$out/$name.tar.tmp" "$out/$name.tar"
  rm -rf "$w"
}

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/pause"
install -m 0755 "$pause_bin" "$root/pause/pause"
oci_archive pause docker.io/local/pause:1 "$root/pause" '{"Entrypoint":["/pause"],"User":"65535:65535"}'

b="$root/busybox"
mkdir -p "$b/bin" "$b/etc" "$b/tmp" "$b/data"
chmod 1777 "$b/tmp"
install -m 0755 "$busybox_bin" "$b/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$b/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$b/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$b/etc/group"
oci_archive busybox docker.io/local/busybox:1 "$b" '{"Env":["PATH=/bin"],"Cmd":["sh"]}'

printf '%s\n' "$stamp" > "$out/images.stamp"
echo "build-images: built docker.io/local/pause:1 and docker.io/local/busybox:1 in $out" >&2

#!/usr/bin/env bash
# Installs the Debian packages the real node needs when any is missing (root only; Debian/Ubuntu):
#   containerd runc containernetworking-plugins   the container runtime and CNI plugins (/usr/lib/cni)
#   iptables                                       the FORWARD rules that keep pod traffic on this machine
#   busybox-static                                 the one static binary of the local test image
# Prints nothing but progress on stderr; exit 0 when everything is there.
set -euo pipefail
say() { printf 'install-deps: %s\n' "$*" >&2; }
need=()
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[ "${#need[@]}" -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then say "error: missing ${need[*]} and not root: install them with apt-get"; exit 1; fi
command -v apt-get >/dev/null 2>&1 || { say "error: missing ${need[*]} and no apt-get"; exit 1; }
say "installing ${need[*]} (apt-get)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || say "warning: apt-get update failed; trying the cached lists"
# --no-install-recommends: no docker, no systemd units pulled in; the packages' own services are not started
# (policy-rc.d), the harness runs its own containerd.
tmp_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; tmp_policy=1; fi
rc=0
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || rc=$?
[ "$tmp_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
[ "$rc" = 0 ] || { say "error: apt-get install ${need[*]} failed (exit $rc)"; exit 1; }
say "installed ${need[*]}"

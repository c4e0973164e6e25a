#!/usr/bin/env bash
# Builds the real-Kubernetes test tools into <repo>/.cluster/bin/:
#   kube-apiserver-embedded  kube-apiserver + etcd in one process (cmd/apiserver)
#   kubectl                  upstream kubectl (cmd/kubectl)
#   helm                     upstream Helm v3 (go install helm.sh/helm/v3/cmd/helm@HELM_VERSION)
#   kube-controller-manager  upstream kcm      (cmd/kube-controller-manager)  } the whole cluster
#   kube-scheduler           upstream scheduler (cmd/kube-scheduler)         } (same module,
#   kubelet                  upstream kubelet  (cmd/kubelet)                 }  same ldflags)
#   pause                    the pods' sandbox process (images/pause, static) for the local pause image
#   kwok                     sigs.k8s.io/kwok (go install …@KWOK_VERSION, outside the harness module)
#   helm4                    upstream Helm v4 (go install helm.sh/helm/v4/cmd/helm@HELM4_VERSION)
#   cert-manager             cert-manager's controller and cainjector (cert-manager/main.go, its own go.mod pinning
#                            github.com/cert-manager/cert-manager; not part of `all`: only its e2e file asks for it)
#
# A binary is rebuilt only when its inputs change: each has a stamp file holding a
# hash of go.mod, go.sum, its sources, its version/ldflags and the Go version.
# The normal GOMODCACHE/GOCACHE are used, so only the very first build is slow
# (10-20 min on 2 cores; a few GB of cache).
#
# Usage: test/harness/build.sh [--force] [apiserver|kubectl|helm|kcm|scheduler|kubelet|pause|kwok|helm4|cert-manager|all ...]
#        (no target = all; the API-server-only e2e setup asks for apiserver kubectl helm)
# Env:   CLUSTER_BIN_DIR (default <repo>/.cluster/bin), GO_BUILD_PARALLEL (default 2)
set -euo pipefail

KUBE_VERSION=v1.36.3        # keep in step with go.mod (gen-replaces.sh)
HELM_VERSION=v3.21.4        # built against k8s.io/client-go v0.36.x, like the cluster
HELM4_VERSION=v4.3.2        # latest 4.x served
KWOK_VERSION=v0.8.0         # latest served; built with its own go.mod (it would upgrade shared modules here)

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${CLUSTER_BIN_DIR:-$repo/.cluster/bin}"
par="${GO_BUILD_PARALLEL:-2}"

say() { printf 'build.sh: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH="/usr/local/go/bin:$PATH"  # the usual install location, often missing from PATH
fi
if ! command -v go >/dev/null 2>&1; then
  if [ -x "$bin/kube-apiserver-embedded" ] && [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ]; then
    say "warning: 'go' not found in PATH; using the binaries already in $bin unchecked"
    exit 0
  fi
  say "error: 'go' not found in PATH; install Go >= 1.26 (e.g. add /usr/local/go/bin to PATH) to build the test cluster"
  exit 1
fi

force=0
targets=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    apiserver|kubectl|helm|kcm|scheduler|kubelet|pause|kwok|helm4|cert-manager) targets+=("$a") ;;
    all) targets+=(apiserver kubectl helm kcm scheduler kubelet pause kwok helm4) ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) say "error: unknown argument '$a'"; exit 2 ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] || targets=(apiserver kubectl helm kcm scheduler kubelet pause kwok helm4)

mkdir -p "$bin"
# Several test runs may call this at once: one build at a time per bin dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bin/.build.lock"
  if ! flock -n 9; then
    say "waiting for another build.sh (lock $bin/.build.lock)…"
    flock 9
  fi
fi
gover="$(go env GOVERSION)"
kube_minor="${KUBE_VERSION#v1.}"; kube_minor="${kube_minor%%.*}"
kube_ldflags="-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}"
kube_ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
kube_ldflags+=" -X k8s.io/component-base/version.gitMinor=${kube_minor}"
kube_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
kube_ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
kube_ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION}"
kube_ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1"
kube_ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=${kube_minor}"
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
helm_ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
helm_ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${kube_minor}"

helm4_ldflags="-X helm.sh/helm/v4/internal/version.version=${HELM4_VERSION}"
helm4_ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
kwok_ldflags="-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}"

hash_of() { # hash_of <text> <files...>
  { printf '%s\n' "$1"; shift; cat "$@"; } | sha256sum | cut -d' ' -f1
}

# up_to_date <binary> <hash>: binary exists and its stamp holds that hash.
up_to_date() {
  [ "$force" = 0 ] && [ -x "$1" ] && [ -f "$1.stamp" ] && [ "$(cat "$1.stamp")" = "$2" ]
}

elapsed() { local s=$(( $(date +%s) - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# A heartbeat so a long, silent first build does not look hung.
with_heartbeat() { # with_heartbeat <label> <cmd...>
  local label="$1"; shift
  local start; start=$(date +%s)
  # (sleep must hold neither our stdout/stderr, or a reader waiting for EOF would wait
  # for it, nor the build lock on fd 9)
  ( exec 9>&-; while sleep 60 </dev/null >/dev/null 2>&1; do say "  … still building $label ($(elapsed "$start"))"; done ) &
  local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null || true
  wait "$hb" 2>/dev/null || true
  if [ "$rc" = 0 ]; then say "built $label in $(elapsed "$start")"; else say "error: building $label failed (exit $rc)"; fi
  return "$rc"
}

build_kube() { # build_kube <name> <pkg-dir> <out> <first-build-hint>
  local name="$1" pkg="$2" out="$3" hint="$4"
  local h; h="$(hash_of "$gover $KUBE_VERSION $kube_ldflags" "$here/go.mod" "$here/go.sum" "$here/$pkg"/*.go)"
  if up_to_date "$out" "$h"; then say "$name is up to date ($out)"; return 0; fi
  if [ -x "$out" ]; then say "rebuilding $name $KUBE_VERSION (inputs changed)…"; else say "building $name $KUBE_VERSION ($hint)…"; fi
  rm -f "$out.stamp"
  with_heartbeat "$name" \
    bash -c 'cd "$1" && go build -p "$2" -ldflags "$3" -o "$4.tmp" "./$5" && mv -f "$4.tmp" "$4"' _ \
      "$here" "$par" "$kube_ldflags" "$out" "$pkg"
  printf '%s\n' "$h" > "$out.stamp"
}

# build_tool <name> <out> <hash-text> <version-hint> <go-install-args...>: `go install` outside any module, so
# the tool's own go.mod decides its dependencies (no replaces needed, nothing shared is upgraded).
build_tool() {
  local name="$1" out="$2" htext="$3" hint="$4"; shift 4
  local h; h="$(hash_of "$gover $htext")"
  if up_to_date "$out" "$h"; then say "$name is up to date ($out)"; return 0; fi
  if [ -x "$out" ]; then say "rebuilding $name (inputs changed)…"; else say "building $name ($hint)…"; fi
  rm -f "$out.stamp"
  local tmp; tmp="$(mktemp -d "$bin/.$name-build.XXXXXX")"
  with_heartbeat "$name" \
    bash -c 'd="$1" o="$2" p="$3"; shift 3; cd "$d" && GOBIN="$d" go install -p "$p" "$@" && mv -f "$d"/* "$o"' _ \
      "$tmp" "$out" "$par" "$@" || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  printf '%s\n' "$h" > "$out.stamp"
}

build_helm() {
  build_tool helm "$bin/helm" "$HELM_VERSION $helm_ldflags" "$HELM_VERSION, first build takes 3-6 min" \
    -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

build_helm4() {
  build_tool helm4 "$bin/helm4" "$HELM4_VERSION $helm4_ldflags" "$HELM4_VERSION, first build takes 3-6 min" \
    -ldflags "$helm4_ldflags" "helm.sh/helm/v4/cmd/helm@$HELM4_VERSION"
}

build_kwok() {
  build_tool kwok "$bin/kwok" "$KWOK_VERSION $kwok_ldflags" "$KWOK_VERSION, first build takes 2-5 min" \
    -ldflags "$kwok_ldflags" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

build_pause() { # static: it runs alone in the pause image
  local out="$bin/pause"
  local h; h="$(hash_of "$gover static" "$here/images/pause"/*.go)"
  if up_to_date "$out" "$h"; then say "pause is up to date ($out)"; return 0; fi
  rm -f "$out.stamp"
  with_heartbeat pause bash -c 'cd "$1" && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$2.tmp" ./images/pause && mv -f "$2.tmp" "$2"' _ "$here" "$out"
  printf '%s\n' "$h" > "$out.stamp"
}

build_cert_manager() { # its own module (test/harness/cert-manager): nothing shared with the harness module changes
  local out="$bin/cert-manager" d="$here/cert-manager"
  local h; h="$(hash_of "$gover" "$d/go.mod" "$d/go.sum" "$d"/*.go)"
  if up_to_date "$out" "$h"; then say "cert-manager is up to date ($out)"; return 0; fi
  say "building cert-manager $(grep -oE "github.com/cert-manager/cert-manager v[0-9.]+" "$d/go.mod" | cut -d" " -f2) (first build takes 5-10 min)…"
  rm -f "$out.stamp"
  with_heartbeat cert-manager bash -c 'cd "$1" && go build -mod=readonly -p "$2" -o "$3.tmp" . && mv -f "$3.tmp" "$3"' _ "$d" "$par" "$out"
  printf '%s\n' "$h" > "$out.stamp"
}

total_start=$(date +%s)
for t in "${targets[@]}"; do
  case "$t" in
    apiserver) build_kube kube-apiserver cmd/apiserver "$bin/kube-apiserver-embedded" "first build takes 10-20 min" ;;
    kubectl)   build_kube kubectl cmd/kubectl "$bin/kubectl" "first build takes 3-8 min" ;;
    helm)      build_helm ;;
    kcm)       build_kube kube-controller-manager cmd/kube-controller-manager "$bin/kube-controller-manager" "first build takes 3-8 min after kube-apiserver" ;;
    scheduler) build_kube kube-scheduler cmd/kube-scheduler "$bin/kube-scheduler" "first build takes 1-3 min after kube-apiserver" ;;
    kubelet)   build_kube kubelet cmd/kubelet "$bin/kubelet" "first build takes 4-10 min after kube-apiserver" ;;
    pause)     build_pause ;;
    kwok)      build_kwok ;;
    helm4)     build_helm4 ;;
    cert-manager) build_cert_manager ;;
  esac
done
say "done in $(elapsed "$total_start"): $bin"

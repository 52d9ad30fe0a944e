#!/usr/bin/env bash
# Build the end-to-end tier's binaries (etcd, kube-apiserver, kube-scheduler) once into a
# cache outside git, keyed by the versions in e2e/VERSIONS, and install Debian's
# prometheus package when it is missing. Binaries already in the cache are reused.
#
#   scripts/e2e-deps.sh               build what is missing (safe to run concurrently: a lock)
#   scripts/e2e-deps.sh --print-bin-dir  print the cache's bin directory and exit
#
# Environment: BINFORGE_E2E_CACHE (default ~/.cache/binforge/e2e), BINFORGE_E2E_NICE
# (niceness of the Go builds, default 15: the CPUs are shared), BINFORGE_E2E_REBUILD=1
# (rebuild the control-plane binaries even when cached, e.g. after changing build flags).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions_file="$root/e2e/VERSIONS"
KUBERNETES_VERSION=$(sed -n 's/^KUBERNETES_VERSION=//p' "$versions_file")
ETCD_VERSION=$(sed -n 's/^ETCD_VERSION=//p' "$versions_file")
if [[ -z "$KUBERNETES_VERSION" || -z "$ETCD_VERSION" ]]; then
  echo "e2e-deps: $versions_file: expected KUBERNETES_VERSION= and ETCD_VERSION= lines" >&2
  exit 2
fi
cache=${BINFORGE_E2E_CACHE:-$HOME/.cache/binforge/e2e}
version_dir="$cache/kubernetes-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}"
bin="$version_dir/bin"

if [[ "${1:-}" == "--print-bin-dir" ]]; then
  echo "$bin"
  exit 0
fi

log() { echo "e2e-deps: $*" >&2; }

build_missing() {
  local missing=()
  for name in etcd kube-apiserver kube-scheduler; do
    [[ -x "$bin/$name" && -z "${BINFORGE_E2E_REBUILD:-}" ]] || missing+=("$name")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "reusing $bin (etcd $ETCD_VERSION, Kubernetes $KUBERNETES_VERSION)"
    return 0
  fi
  if ! command -v go >/dev/null; then
    log "cannot build ${missing[*]}: the go command is not installed"
    return 1
  fi
  mkdir -p "$bin"
  # Build into a staging folder and move into place, so an interrupted build never
  # leaves a half-written binary that later runs would reuse.
  staging=$(mktemp -d "$version_dir/.build.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  local flags=(-trimpath "-ldflags=-s -w")
  local niceness=${BINFORGE_E2E_NICE:-15}
  local started=$SECONDS
  if [[ " ${missing[*]} " == *" etcd "* ]]; then
    log "building etcd $ETCD_VERSION"
    (cd "$root/e2e/etcd" && nice -n "$niceness" go build "${flags[@]}" \
      -o "$staging/etcd" go.etcd.io/etcd/server/v3)
  fi
  if [[ " ${missing[*]} " == *" kube-"* ]]; then
    log "building kube-apiserver and kube-scheduler $KUBERNETES_VERSION (long: tens of minutes)"
    # Stamp the release as upstream's hack/lib/version.sh does, so /version, the logs and
    # client user agents report it (module builds otherwise say v0.0.0-master).
    local minor=${KUBERNETES_VERSION#v1.}
    minor=${minor%%.*}
    local ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1"
      ldflags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    (cd "$root/e2e/k8s" && nice -n "$niceness" go build -trimpath "-ldflags=$ldflags" \
      -o "$staging/" ./cmd/kube-apiserver ./cmd/kube-scheduler)
  fi
  for name in "${missing[@]}"; do
    mv -f "$staging/$name" "$bin/$name"
  done
  rm -rf "$staging"
  local elapsed=$((SECONDS - started))
  echo "$(date -u +%FT%TZ) built ${missing[*]} in ${elapsed}s with $(go version | cut -d' ' -f3)" \
    >>"$version_dir/build-times.log"
  log "built ${missing[*]} in ${elapsed}s; cache size $(du -sh "$version_dir" | cut -f1)"
}

install_prometheus() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    return 0
  fi
  log "installing Debian's prometheus package"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends prometheus >&2; then
    "${sudo[@]}" apt-get update -q >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends prometheus >&2
  fi
}

mkdir -p "$version_dir"
# One build at a time per version: a second caller waits, then reuses the result.
exec 9>"$version_dir/.lock"
flock 9
build_missing
install_prometheus

# The Helm chart's tests (issue 7): helm, built by its own script with its own lock.
"$root/scripts/build-helm.sh"

#!/usr/bin/env bash
# Build the helm client (for the Helm chart's tests) once into a cache outside git, keyed
# by HELM_VERSION in e2e/VERSIONS, from the tool module in e2e/helm. Reused when present.
# Called by scripts/e2e-deps.sh (so `make e2e-deps` builds it too).
#
#   scripts/build-helm.sh           build helm when missing (a lock makes concurrent runs safe)
#   scripts/build-helm.sh --print   print the path of the helm binary and exit
#
# Environment: BINFORGE_E2E_CACHE (default ~/.cache/binforge/e2e), BINFORGE_E2E_NICE
# (niceness of the Go build, default 15: the CPUs are shared).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions_file="$root/e2e/VERSIONS"
HELM_VERSION=$(sed -n 's/^HELM_VERSION=//p' "$versions_file")
if [[ -z "$HELM_VERSION" ]]; then
  echo "build-helm: $versions_file: expected a HELM_VERSION= line" >&2
  exit 2
fi
cache=${BINFORGE_E2E_CACHE:-$HOME/.cache/binforge/e2e}
helm_dir="$cache/helm-${HELM_VERSION}"
helm_bin="$helm_dir/bin/helm"

if [[ "${1:-}" == "--print" ]]; then
  echo "$helm_bin"
  exit 0
fi

log() { echo "build-helm: $*" >&2; }

mkdir -p "$helm_dir/bin"
exec 8>"$helm_dir/.lock"
flock 8
if [[ -x "$helm_bin" ]]; then
  log "reusing $helm_bin (helm $HELM_VERSION)"
  exit 0
fi
if ! command -v go >/dev/null; then
  log "cannot build helm: the go command is not installed"
  exit 1
fi
staging=$(mktemp -d "$helm_dir/.build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
started=$SECONDS
log "building helm $HELM_VERSION"
# As helm's own Makefile does: the default Kubernetes version that `helm template` and
# `helm lint` assume comes from the client-go module helm was built with (v0.M.m -> 1.M.m).
client_go=$(cd "$root/e2e/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)
k8s_minor=$(echo "$client_go" | cut -d. -f2)
flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done
(cd "$root/e2e/helm" && nice -n "${BINFORGE_E2E_NICE:-15}" go build -trimpath \
  "-ldflags=$flags" -o "$staging/helm" helm.sh/helm/v3/cmd/helm)
mv -f "$staging/helm" "$helm_bin"
elapsed=$((SECONDS - started))
echo "$(date -u +%FT%TZ) built helm $HELM_VERSION in ${elapsed}s with $(go version | cut -d' ' -f3)" \
  >>"$helm_dir/build-times.log"
log "built helm in ${elapsed}s; cache size $(du -sh "$helm_dir" | cut -f1)"

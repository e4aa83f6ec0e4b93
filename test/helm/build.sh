#!/usr/bin/env bash
# npm run helm:build — builds the helm CLI of the release pinned in go.mod (beside this file) from the Go module
# proxy, once, for the tests that render Helm charts with `helm template`. The binary is cached under
# ~/.cache/krr-mcp/helm/<key>/bin, keyed by the pinned version (go.mod, go.sum, this script and
# test/support/cached-go-build.sh) and the Go version, so a second run is a no-op. Prints the bin directory on its last line.
# `--cached-only` prints it only if the binary is already built, and fails otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
tool=helm
# shellcheck source=../support/cached-go-build.sh
. "$HERE/../support/cached-go-build.sh"

# go.mod says go 1.24.0 (helm v3.19's own minimum).
require_go 24 "The Helm tests render charts with a real helm built from its Go module:" helm
helm_version="$(sed -nE 's/^\s*helm.sh\/helm\/v3 (v[0-9.]+).*/\1/p' "$HERE/go.mod" | head -1)"
cache_key "${KRR_HELM_CACHE:-$HOME/.cache/krr-mcp/helm}" "helm-${helm_version}" "$HERE/go.mod" "$HERE/go.sum" "$HERE/build.sh"
# Tests ask with --cached-only: a test never starts a build by itself.
exit_if_cached "${1:-}" helm

build_helm() {
  # go.sum pins every dependency (a missing sum fails instead of resolving anew); CGO off: nothing from the
  # machine's C libraries. The version helm reports (`helm version`) is what helm's own Makefile stamps in with -X.
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
    -o "$1/helm" helm.sh/helm/v3/cmd/helm
}
build_into_cache "helm $helm_version" build_helm

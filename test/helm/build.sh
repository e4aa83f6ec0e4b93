#!/usr/bin/env bash
# npm run helm:build — builds the helm CLI of the release pinned in go.mod (beside this file) from the Go module
# proxy, once, for the tests that render Helm charts with `helm template`. The binary is cached under
# ~/.cache/krr-mcp/helm/<key>/bin, keyed by the pinned version (go.mod, go.sum, this script) and the Go version,
# so a second run is a no-op. Prints the bin directory on its last line.
# `--cached-only` prints it only if the binary is already built, and fails otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
MIN_GO_MINOR=24 # go.mod says go 1.24.0 (helm v3.19's own minimum)

if ! command -v go >/dev/null 2>&1; then
  echo "helm: Go is not installed. The Helm tests render charts with a real helm built from its Go module:" >&2
  echo "helm: install Go 1.${MIN_GO_MINOR} or newer (https://go.dev/dl/, or /usr/local/go/bin on PATH)." >&2
  exit 1
fi
go_version="$(go env GOVERSION)" # e.g. go1.26.8
go_minor="$(echo "$go_version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
if ! [[ "$go_minor" =~ ^[0-9]+$ ]] || [ "$go_minor" -lt "$MIN_GO_MINOR" ]; then
  echo "helm: $go_version is too old to build helm: install Go 1.${MIN_GO_MINOR} or newer." >&2
  exit 1
fi

helm_version="$(sed -nE 's/^\s*helm.sh\/helm\/v3 (v[0-9.]+).*/\1/p' "$HERE/go.mod" | head -1)"
inputs_hash="$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/build.sh" | sha256sum | cut -c1-12)"
key="helm-${helm_version}-${go_version}-${inputs_hash}"
cache="${KRR_HELM_CACHE:-$HOME/.cache/krr-mcp/helm}"
out="$cache/$key/bin"

if [ -x "$out/helm" ]; then
  echo "helm: cached ($key)"
  echo "$out"
  exit 0
fi
# --cached-only: what the tests ask; a test never starts a build by itself.
if [ "${1:-}" = "--cached-only" ]; then
  echo "helm: not built for $key: run 'npm run helm:build' first (needs Go and the Go module proxy)." >&2
  exit 3
fi

echo "helm: building helm $helm_version with $go_version"
started=$(date +%s)
tmp="$cache/$key/bin.partial"
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$HERE"
# go.sum pins every dependency (a missing sum fails instead of resolving anew); CGO off: nothing from the
# machine's C libraries. The version helm reports (`helm version`) is what helm's own Makefile stamps in with -X.
CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  -o "$tmp/helm" helm.sh/helm/v3/cmd/helm
rm -rf "$out"
mv "$tmp" "$out"
echo "helm: built in $(( $(date +%s) - started )) s ($key)"
echo "$out"

#!/usr/bin/env bash
# npm run control-plane:build — builds the real kube-apiserver, kube-controller-manager and etcd of the
# release pinned in go.mod (beside this file) from the Go module proxy, once. The binaries are cached under
# ~/.cache/krr-mcp/control-plane/<key>/bin, keyed by the pinned versions (go.mod, go.sum, etcd/main.go) and
# the Go version, so a second run is a no-op. Prints the bin directory on its last line.
# `--cached-only` prints it only if the binaries are already built, and fails otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
MIN_GO_MINOR=24 # go.mod says go 1.24.0 (Kubernetes 1.33's own minimum)

if ! command -v go >/dev/null 2>&1; then
  echo "control-plane: Go is not installed. The cluster-facing tests run against a real kube-apiserver and etcd" >&2
  echo "control-plane: built from Go modules: install Go 1.${MIN_GO_MINOR} or newer (https://go.dev/dl/, or /usr/local/go/bin on PATH)." >&2
  exit 1
fi
go_version="$(go env GOVERSION)" # e.g. go1.26.8
go_minor="$(echo "$go_version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
if ! [[ "$go_minor" =~ ^[0-9]+$ ]] || [ "$go_minor" -lt "$MIN_GO_MINOR" ]; then
  echo "control-plane: $go_version is too old to build Kubernetes 1.33: install Go 1.${MIN_GO_MINOR} or newer." >&2
  exit 1
fi

k8s_version="$(sed -nE 's/^\s*k8s.io\/kubernetes (v[0-9.]+).*/\1/p' "$HERE/go.mod" | head -1)"
etcd_version="$(sed -nE 's/^(require)?\s*go.etcd.io\/etcd\/server\/v3 (v[0-9.]+).*/\2/p' "$HERE/go.mod" | head -1)"
inputs_hash="$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/etcd/main.go" | sha256sum | cut -c1-12)"
key="kubernetes-${k8s_version}-etcd-${etcd_version}-${go_version}-${inputs_hash}"
cache="${KRR_CONTROL_PLANE_CACHE:-$HOME/.cache/krr-mcp/control-plane}"
out="$cache/$key/bin"

if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ]; then
  echo "control-plane: cached ($key)"
  echo "$out"
  exit 0
fi
# --cached-only: what the test harness asks; tests never start a 10-minute build by themselves.
if [ "${1:-}" = "--cached-only" ]; then
  echo "control-plane: not built for $key: run 'npm run control-plane:build' first (needs Go and the Go module proxy)." >&2
  exit 3
fi

echo "control-plane: building kube-apiserver, kube-controller-manager ($k8s_version) and etcd ($etcd_version) with $go_version"
started=$(date +%s)
tmp="$cache/$key/bin.partial"
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$HERE"
# go.sum pins every dependency (read-only module mode: a missing sum fails instead of resolving anew); -trimpath and -s -w keep the link small and reproducible.
# CGO off: the binaries need nothing from the machine's C libraries.
CGO_ENABLED=0 GOFLAGS="-buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  ./etcd
rm -rf "$out"
mv "$tmp" "$out"
echo "control-plane: built in $(( $(date +%s) - started )) s ($key)"
echo "$out"

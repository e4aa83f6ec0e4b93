#!/usr/bin/env bash
# npm run control-plane:build — builds the real kube-apiserver, kube-controller-manager and etcd of the
# release pinned in go.mod (beside this file) from the Go module proxy, once. The binaries are cached under
# ~/.cache/krr-mcp/control-plane/<key>/bin, keyed by the pinned versions (go.mod, go.sum, etcd/main.go, this script and
# test/support/cached-go-build.sh) and the Go version, so a second run is a no-op. Prints the bin directory on its last line.
# `--cached-only` prints it only if the binaries are already built, and fails otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
tool=control-plane
# shellcheck source=../support/cached-go-build.sh
. "$HERE/../support/cached-go-build.sh"

# go.mod says go 1.24.0 (Kubernetes 1.33's own minimum).
require_go 24 "The cluster-facing tests run against a real kube-apiserver and etcd built from Go modules:" "Kubernetes 1.33"
k8s_version="$(sed -nE 's/^\s*k8s.io\/kubernetes (v[0-9.]+).*/\1/p' "$HERE/go.mod" | head -1)"
etcd_version="$(sed -nE 's/^(require)?\s*go.etcd.io\/etcd\/server\/v3 (v[0-9.]+).*/\2/p' "$HERE/go.mod" | head -1)"
cache_key "${KRR_CONTROL_PLANE_CACHE:-$HOME/.cache/krr-mcp/control-plane}" "kubernetes-${k8s_version}-etcd-${etcd_version}" \
  "$HERE/go.mod" "$HERE/go.sum" "$HERE/etcd/main.go" "$HERE/build.sh"
# Tests ask with --cached-only: they never start a 10-minute build by themselves.
exit_if_cached "${1:-}" kube-apiserver kube-controller-manager etcd

build_control_plane() {
  # go.sum pins every dependency (read-only module mode: a missing sum fails instead of resolving anew); -trimpath and -s -w keep the link small and reproducible.
  # CGO off: the binaries need nothing from the machine's C libraries.
  # The version the binaries report (kubectl version, discovery): what Kubernetes' own build stamps in with -X.
  local minor stamp="" pkg
  minor="$(echo "$k8s_version" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp="$stamp -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false" go build -trimpath -ldflags "-s -w$stamp" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    ./etcd
}
build_into_cache "kube-apiserver, kube-controller-manager ($k8s_version) and etcd ($etcd_version)" build_control_plane

#!/usr/bin/env bash
# npm run victoriametrics:build — builds the real single-node VictoriaMetrics (app/victoria-metrics) of the release
# pinned in go.mod (beside this file) from the Go module proxy, once. The binary is cached under
# ~/.cache/krr-mcp/victoriametrics/<key>/bin, keyed by the pinned version (go.mod, go.sum, this script and
# test/support/cached-go-build.sh) and the Go version, so a second run is a no-op. Prints the bin directory on its
# last line. `--cached-only` prints it only if the binary is already built, and fails otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
tool=victoriametrics
# shellcheck source=../support/cached-go-build.sh
. "$HERE/../support/cached-go-build.sh"

# go.mod says go 1.26.6 (the minimum of VictoriaMetrics v1.151.0's own go.mod).
require_go 26 "The usage-history tests query a real VictoriaMetrics built from its Go module:" "VictoriaMetrics v1.151"
vm_version="$(sed -nE 's/^\s*github.com\/VictoriaMetrics\/VictoriaMetrics (v[0-9.]+).*/\1/p' "$HERE/go.mod" | head -1)"
cache_key "${KRR_VICTORIAMETRICS_CACHE:-$HOME/.cache/krr-mcp/victoriametrics}" "victoriametrics-${vm_version}" \
  "$HERE/go.mod" "$HERE/go.sum" "$HERE/build.sh"
# Tests ask with --cached-only: a test never starts a build by itself.
exit_if_cached "${1:-}" victoria-metrics

build_victoriametrics() {
  # go.sum pins every dependency (a missing sum fails instead of resolving anew); CGO off: VictoriaMetrics' pure-Go
  # build (its own "-pure" targets), nothing from the machine's C libraries. The version (`-version`, the
  # vm_app_version metric) is what its Makefile stamps into lib/buildinfo.Version, in the same
  # <app>-<date>-tags-<tag> shape; the module proxy carries no commit, so the date is fixed and no hash follows.
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath \
    -ldflags "-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-19700101-000000-tags-${vm_version}" \
    -o "$1/victoria-metrics" github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics
}
build_into_cache "victoria-metrics $vm_version" build_victoriametrics

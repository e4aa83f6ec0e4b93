#!/usr/bin/env bash
# npm run prometheus:build — builds the real prometheus and promtool of the release pinned in go.mod (beside this
# file) from the Go module proxy, once, and bcrypt-hash (bcrypt/main.go: the hash the web config's basic auth takes).
# The binaries are cached under ~/.cache/krr-mcp/prometheus/<key>/bin, keyed by the pinned version (go.mod, go.sum,
# bcrypt/main.go, this script and test/support/cached-go-build.sh) and the Go version, so a second run is a no-op.
# Prints the bin directory on its last line. `--cached-only` prints it only if the binaries are already built, and
# fails otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
tool=prometheus
# shellcheck source=../support/cached-go-build.sh
. "$HERE/../support/cached-go-build.sh"

# go.mod says go 1.26.7 (the minimum of Prometheus v0.316.0's own go.mod).
require_go 26 "The usage-history tests query a real Prometheus built from its Go module:" "Prometheus 3.16"
# The Go module v0.316.0 is Prometheus release 3.16.0 (its VERSION file; Prometheus tags each release v3.X.Y and
# its Go module v0.3XX.Y).
module_version="$(sed -nE 's/^\s*github.com\/prometheus\/prometheus (v[0-9.]+).*/\1/p' "$HERE/go.mod" | head -1)"
release_version="$(echo "$module_version" | sed -E 's/^v0\.3([0-9]{2})\.([0-9]+)$/3.\1.\2/' | sed -E 's/^3\.0([0-9])/3.\1/')"
cache_key "${KRR_PROMETHEUS_CACHE:-$HOME/.cache/krr-mcp/prometheus}" "prometheus-${release_version}" \
  "$HERE/go.mod" "$HERE/go.sum" "$HERE/bcrypt/main.go" "$HERE/build.sh"
# Tests ask with --cached-only: a test never starts a build by itself.
exit_if_cached "${1:-}" prometheus promtool bcrypt-hash

build_prometheus() {
  # go.sum pins every dependency (a missing sum fails instead of resolving anew); CGO off: nothing from the
  # machine's C libraries. The version /api/v1/status/buildinfo reports is what Prometheus' release build (promu)
  # stamps into prometheus/common/version with -X; the module proxy carries no commit, so Revision names the module version.
  # remove_all_sd (Prometheus' own build tag, plugins/plugin_*.go) leaves out every cloud service discovery: the
  # tests scrape nothing, and the build skips the AWS, Azure, GCE, Kubernetes… client libraries.
  local pkg=github.com/prometheus/common/version stamp
  stamp="-X $pkg.Version=$release_version -X $pkg.Revision=$module_version -X $pkg.Branch=release-${release_version%.*}"
  stamp="$stamp -X $pkg.BuildUser=krr-mcp-test -X $pkg.BuildDate=19700101-00:00:00"
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath -tags remove_all_sd -ldflags "-s -w $stamp" -o "$1/" \
    github.com/prometheus/prometheus/cmd/prometheus \
    github.com/prometheus/prometheus/cmd/promtool
  CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath -ldflags "-s -w" -o "$1/bcrypt-hash" ./bcrypt
}
build_into_cache "prometheus and promtool $release_version (module $module_version) and bcrypt-hash" build_prometheus

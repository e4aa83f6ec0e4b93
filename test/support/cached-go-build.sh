# Sourced by test/control-plane/build.sh and test/helm/build.sh: what both do to build pinned Go binaries for the
# tests once and cache them. Each script names its tool, versions, inputs and `go build`; these functions check Go,
# make the cache key, answer from the cache (or `--cached-only`'s refusal) and build into it.
# The calling script sets `tool` (the log prefix; its npm script is `npm run $tool:build`) and `HERE` (its folder).

# require_go MIN_MINOR WHY TARGET — sets go_version, or exits 1 saying which Go to install: a missing Go is a clear
# failure, never a silent skip.
require_go() {
  local min_minor="$1" why="$2" target="$3" go_minor
  if ! command -v go >/dev/null 2>&1; then
    echo "$tool: Go is not installed. $why" >&2
    echo "$tool: install Go 1.${min_minor} or newer (https://go.dev/dl/, or /usr/local/go/bin on PATH)." >&2
    exit 1
  fi
  go_version="$(go env GOVERSION)" # e.g. go1.26.8
  go_minor="$(echo "$go_version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
  if ! [[ "$go_minor" =~ ^[0-9]+$ ]] || [ "$go_minor" -lt "$min_minor" ]; then
    echo "$tool: $go_version is too old to build $target: install Go 1.${min_minor} or newer." >&2
    exit 1
  fi
}

# cache_key CACHE VERSIONS INPUT... — sets key (the pinned versions, the Go version and a hash of the inputs and of
# this file, so a change to any of them builds anew) and out, the bin directory under CACHE.
cache_key() {
  local cache_root="$1" versions="$2" inputs_hash
  shift 2
  inputs_hash="$(cat "$@" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
  key="${versions}-${go_version}-${inputs_hash}"
  cache="$cache_root"
  out="$cache/$key/bin"
}

# exit_if_cached ARG BINARY... — prints out and exits 0 when every binary is built; with ARG `--cached-only` (what
# the tests ask: a test never starts a build by itself) exits 3 naming the command to run; otherwise returns.
exit_if_cached() {
  local arg="$1" binary built=yes
  shift
  for binary in "$@"; do
    [ -x "$out/$binary" ] || built=no
  done
  if [ "$built" = yes ]; then
    echo "$tool: cached ($key)"
    echo "$out"
    exit 0
  fi
  if [ "$arg" = "--cached-only" ]; then
    echo "$tool: not built for $key: run 'npm run $tool:build' first (needs Go and the Go module proxy)." >&2
    exit 3
  fi
}

# build_into_cache WHAT BUILD — runs the function BUILD in the script's folder with a fresh partial directory as $1,
# then moves that into place (an interrupted build is never taken for a cached one) and prints out.
build_into_cache() {
  local what="$1" build="$2" started tmp
  echo "$tool: building $what with $go_version"
  started=$(date +%s)
  tmp="$cache/$key/bin.partial"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cd "$HERE"
  "$build" "$tmp"
  rm -rf "$out"
  mv "$tmp" "$out"
  echo "$tool: built in $(( $(date +%s) - started )) s ($key)"
  echo "$out"
}

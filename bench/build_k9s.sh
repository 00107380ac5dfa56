#!/usr/bin/env bash
# Builds k9s (the peer of the dashboard benchmark) from the Go module proxy into
# a cache outside the checkout, keyed by version. Prints the binary's path.
set -euo pipefail

version=${K9S_VERSION:-0.50.16}
cache=${LLMKUBE_TUI_CACHE:-/var/cache/llmkube-tui}
root="$cache/k9s-v$version"
binary="$root/bin/k9s"

if [ ! -x "$binary" ]; then
  mkdir -p "$root"
  exec 9>"$root/build.lock"
  flock 9
  if [ ! -x "$binary" ]; then
    echo "build: k9s v$version from the Go module proxy (about 13 minutes cold)" >&2
    GOBIN="$root/bin" go install "github.com/derailed/k9s@v$version"
  fi
fi
echo "$binary"

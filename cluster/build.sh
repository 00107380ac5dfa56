#!/usr/bin/env bash
# Builds etcd and Kubernetes components from the Go module proxy into a cache
# outside the checkout, keyed by version. A binary already in the cache is
# never rebuilt, so a warm run costs nothing.
#
#   cluster/build.sh [component ...]   (default: all five)
#
# K8S_VERSION (default 1.34.4) and LLMKUBE_TUI_CACHE (default
# /var/cache/llmkube-tui) select the version and the cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=${K8S_VERSION:-1.34.4}
cache=${LLMKUBE_TUI_CACHE:-/var/cache/llmkube-tui}
root="$cache/k8s-v$version"
bin="$root/bin"
src="$root/src"
all=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")

missing=()
for c in "${wanted[@]}"; do
  [ -x "$bin/$c" ] || missing+=("$c")
done
[ ${#missing[@]} -gt 0 ] || exit 0

mkdir -p "$bin" "$src"
# Tests and the demo may both ask for a build at once; one builds, the other waits.
exec 9>"$root/build.lock"
flock 9

IFS=. read -r major minor _ <<<"$version"
staging="v0.$minor.${version##*.}"

if [ ! -f "$src/go.sum" ]; then
  echo "build: preparing module for Kubernetes v$version" >&2
  cd "$src"
  # k8s.io/kubernetes points its staging modules at ./staging; a consumer
  # module has to replace each of them with its published version instead.
  gomod=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module llmkube-tui/localcluster"
    echo
    echo "go 1.24.0"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes v$version"
    echo ")"
    echo
    # tool directives keep the commands in the module graph through go mod tidy.
    echo "tool ("
    for c in "${all[@]}"; do
      [ "$c" = etcd ] || echo "	k8s.io/kubernetes/cmd/$c"
    done
    echo ")"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
    echo ")"
  } >go.mod
  mkdir -p cmd/etcd
  cp "$here/etcd/main.go" cmd/etcd/main.go
  # etcd's server version is the one k8s.io/kubernetes itself requires.
  etcd_version=$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$gomod")
  go get "go.etcd.io/etcd/server/v3@$etcd_version" >&2
  go mod tidy >&2
fi

cd "$src"
ldflags="-s -w"
for k in gitVersion=v$version gitMajor=$major gitMinor=$minor gitTreeState=clean buildDate=1970-01-01T00:00:00Z; do
  ldflags="$ldflags -X k8s.io/component-base/version.$k -X k8s.io/client-go/pkg/version.$k"
done
for c in "${missing[@]}"; do
  [ -x "$bin/$c" ] && continue
  start=$(date +%s)
  if [ "$c" = etcd ]; then
    pkg=./cmd/etcd
  else
    pkg="k8s.io/kubernetes/cmd/$c"
  fi
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$c.tmp" "$pkg"
  mv "$bin/$c.tmp" "$bin/$c"
  echo "build: $c in $(( $(date +%s) - start ))s" >&2
done

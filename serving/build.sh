#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the source that the llama-cpp-python
# source distribution on PyPI carries (vendor/llama.cpp), into a cache outside
# the checkout keyed by version. A cached binary is never rebuilt.
#
#   serving/build.sh            prints the path of the binary
#
# LLAMA_CPP_PYTHON_VERSION (default 0.3.36) and LLMKUBE_TUI_CACHE (default
# /var/cache/llmkube-tui) select the version and the cache.
set -euo pipefail

version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
cache=${LLMKUBE_TUI_CACHE:-/var/cache/llmkube-tui}
root="$cache/llama-cpp-python-$version"
binary="$root/bin/llama-server"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
mkdir -p "$root"
# The tests and the demo may ask at once; one builds, the other waits.
exec 9>"$root/build.lock"
flock 9
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

python=${PYTHON:-python3}
if [ ! -d "$root/src/vendor/llama.cpp" ]; then
  echo "build: fetching llama-cpp-python $version source from PyPI" >&2
  rm -rf "$root/dl" "$root/src"
  mkdir -p "$root/dl"
  # pip download would build the sdist's metadata (scikit-build-core from
  # source); the simple index gives the file and its sha256 directly.
  "$python" - "$version" "$root/dl" <<'PY'
import hashlib, re, sys, urllib.request
version, dest = sys.argv[1], sys.argv[2]
index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-python/", timeout=60).read().decode()
name = f"llama_cpp_python-{version}.tar.gz"
match = re.search(r'href="([^"#]*/' + re.escape(name) + r')#sha256=([0-9a-f]{64})"', index)
if not match:
    sys.exit(f"build: {name} is not on the package index")
url, digest = match.groups()
data = urllib.request.urlopen(url, timeout=300).read()
if hashlib.sha256(data).hexdigest() != digest:
    sys.exit(f"build: {name} does not match the index's sha256")
with open(f"{dest}/{name}", "wb") as out:
    out.write(data)
PY
  mkdir -p "$root/src.tmp"
  tar -xzf "$root"/dl/llama_cpp_python-"$version".tar.gz -C "$root/src.tmp" --strip-components=1
  mv "$root/src.tmp" "$root/src"
fi

echo "build: llama-server (Release, static, no curl; about 15 minutes on 2 cores)" >&2
start=$(date +%s)
cmake -S "$root/src/vendor/llama.cpp" -B "$root/build" \
  -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF \
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  >"$root/cmake.log" 2>&1 || { tail -30 "$root/cmake.log" >&2; exit 1; }
cmake --build "$root/build" --target llama-server -j "$(nproc)" \
  >"$root/build.log" 2>&1 || { tail -30 "$root/build.log" >&2; exit 1; }
mkdir -p "$root/bin"
install -m 0755 "$root/build/bin/llama-server" "$binary.tmp"
mv "$binary.tmp" "$binary"
echo "build: llama-server built in $(( $(date +%s) - start )) s" >&2
echo "$binary"

#!/usr/bin/env bash
# Installs missing Debian packages, then configures and builds everything
# (or only the targets given as arguments).
# Build directory: $NAS_BUILD_DIR (default: build/ in the repository).
# Compiler cache:  $NAS_CACHE_DIR (default: ~/.cache/nas-service), shared by
# every clone on the machine, so a fresh clone (as in CI) rebuilds quickly.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/install-deps.sh"
build=${NAS_BUILD_DIR:-$repo/build}
cache=${NAS_CACHE_DIR:-$HOME/.cache/nas-service}
mkdir -p "$cache/ccache"
export CCACHE_DIR="$cache/ccache" CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Paths differ between clones; let ccache hit anyway.
export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1
jobs=${NAS_JOBS:-$(nproc)}
echo "build.sh: configuring $build" >&2
# compile_commands.json feeds scripts/thread-safety.sh.
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DNAS_BUILD_TESTS=${NAS_BUILD_TESTS:-ON} -DNAS_BUILD_BENCH=${NAS_BUILD_BENCH:-ON} >/dev/null
echo "build.sh: building with $jobs jobs (ccache in $CCACHE_DIR)" >&2
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
ccache -s 2>/dev/null | grep -iE "hits|misses" | head -3 >&2 || true

#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz, in a clang build of their own
# (ASan + UBSan + coverage; protos and nas_common only, no LibTorch).
#
#   fuzz.sh build            configure + build the fuzz tree
#   fuzz.sh run TARGET       build; run every input of
#                            tests/fuzz/regressions/TARGET once; then fuzz
#                            TARGET for $NAS_FUZZ_SECONDS (default 30) over
#                            a temporary COPY of tests/fuzz/corpus/TARGET
#   fuzz.sh all              run every target in turn
#
# Build directory: $NAS_FUZZ_BUILD_DIR (default: ${NAS_BUILD_DIR:-build}-fuzz).
# Compiler cache as scripts/build.sh. Nothing is written into the
# repository: new corpus entries stay in the temporary directory, and a
# crashing input is copied to $NAS_FUZZ_BUILD_DIR/artifacts/ with the
# command that reproduces it. Exit status 1 on any crash, leak, UB report,
# timeout or broken property.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${NAS_FUZZ_BUILD_DIR:-${NAS_BUILD_DIR:-$repo/build}-fuzz}
targets=(spec_fuzz nb201_genotype_fuzz mobilenet_genotype_fuzz
         result_validator_fuzz)

build_tree() {
  cache=${NAS_CACHE_DIR:-$HOME/.cache/nas-service}
  mkdir -p "$cache/ccache"
  export CCACHE_DIR="$cache/ccache" CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
  export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1
  if [[ ! -f "$build/build.ninja" ]]; then
    echo "fuzz.sh: configuring $build (clang, NAS_FUZZ=ON)" >&2
    CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNAS_FUZZ=ON -DNAS_BUILD_TESTS=OFF \
      >/dev/null
  fi
  cmake --build "$build" -j "${NAS_JOBS:-$(nproc)}" --target "${targets[@]}"
}

run_target() {
  local t=$1 secs=${NAS_FUZZ_SECONDS:-30}
  local bin="$build/tests/fuzz/$t"
  [[ -x "$bin" ]] || { echo "fuzz.sh: no $bin (unknown target?)" >&2; exit 2; }
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/nas-fuzz-$t.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/corpus" "$tmp/artifacts"
  cp -r "$repo/tests/fuzz/corpus/$t/." "$tmp/corpus/"
  local dict=()
  [[ -f "$repo/tests/fuzz/$t.dict" ]] && dict=(-dict="$repo/tests/fuzz/$t.dict")
  local status=0
  # Regression inputs first: each once, as plain inputs.
  local regs=("$repo/tests/fuzz/regressions/$t"/*)
  if [[ -e "${regs[0]}" ]]; then
    echo "fuzz.sh: $t: ${#regs[@]} regression inputs" >&2
    "$bin" -artifact_prefix="$tmp/artifacts/" "${regs[@]}" \
      >"$tmp/regressions.log" 2>&1 || status=$?
    if ((status)); then
      tail -n 40 "$tmp/regressions.log" >&2
      echo "fuzz.sh: FAILED: $t crashes on a regression input (above)" >&2
      return 1
    fi
  fi
  echo "fuzz.sh: $t: fuzzing for ${secs}s" >&2
  (cd "$tmp" && "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 -artifact_prefix="$tmp/artifacts/" "${dict[@]}" \
     "$tmp/corpus") >"$tmp/fuzz.log" 2>&1 || status=$?
  grep -E "^#[0-9]+[[:space:]]+(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss" \
    "$tmp/fuzz.log" >&2 || true
  if ((status)); then
    tail -n 60 "$tmp/fuzz.log" >&2
    mkdir -p "$build/artifacts"
    local a
    for a in "$tmp/artifacts"/*; do
      [[ -e "$a" ]] || continue
      cp "$a" "$build/artifacts/$t-$(basename "$a")"
      echo "fuzz.sh: reproduce with: $bin $build/artifacts/$t-$(basename "$a")" >&2
    done
    echo "fuzz.sh: FAILED: $t found a crash (log above; fix it, then add the" \
         "input to tests/fuzz/regressions/$t/)" >&2
    return 1
  fi
  echo "fuzz.sh: $t: OK" >&2
}

case ${1:-} in
  build) build_tree ;;
  run) [[ $# -eq 2 ]] || { echo "usage: $0 run TARGET" >&2; exit 2; }
       build_tree >&2; run_target "$2" ;;
  all) build_tree >&2
       rc=0; for t in "${targets[@]}"; do run_target "$t" || rc=1; done
       exit $rc ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

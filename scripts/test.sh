#!/usr/bin/env bash
# README command 2: set-up (packages, build), clang's lock check
# (scripts/thread-safety.sh: -Wthread-safety over controller/ and worker/,
# any warning fails), then the whole test suite:
# unit tests, store integration tests against a throw-away PostgreSQL, worker
# tests with real LibTorch training on Fashion-MNIST, and end-to-end tests
# with controller and worker processes over loopback gRPC; last, the
# libFuzzer targets (label fuzz: a clang build of their own, then each target
# for $NAS_FUZZ_SECONDS, default 30, see tests/fuzz/README.md); then the
# GPU check on the CPU (scripts/gpu-check.sh --quick: the training-core-only
# build and bench/gpu_check's accuracy checks), so that it cannot rot; last,
# the Debian 13 / LibTorch 2.6 check (scripts/debian13-check.sh), see below.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/build.sh"
build=${NAS_BUILD_DIR:-$repo/build}
NAS_BUILD_DIR="$build" bash "$repo/scripts/thread-safety.sh"
cd "$build"
# One test at a time: the end-to-end and training tests use both cores.
ctest --output-on-failure --timeout 1200 "$@"
bash "$repo/scripts/gpu-check.sh" --device=cpu --quick --libtorch=system
# Debian 13 / LibTorch 2.6: NAS_DEBIAN13=auto (default) runs the check when
# its chroot and build are cached on this machine (then it takes a few
# minutes). From nothing it builds every LibTorch target against 2.6 (about
# 55-65 min on 2 cores, measured), more than CI's 90 minutes leave after the
# rest, so then it says loudly that it did not run and how to run it; its
# last result is in docs/BENCHMARKS.md. NAS_DEBIAN13=1 runs it always (run
# it before every change to worker/ or deploy/docker/), 0 never.
d13=${NAS_DEBIAN13:-auto}
d13_root=${NAS_DEBIAN13_ROOT:-${NAS_CACHE_DIR:-$HOME/.cache/nas-service}/trixie-chroot}
if [[ $d13 == auto ]]; then
  if [[ -f $d13_root/build/build.ninja ]]; then d13=1; else d13=0; fi
fi
if [[ $d13 == 1 ]]; then
  bash "$repo/scripts/debian13-check.sh"
else
  line="################################################################"
  printf '\n%s\n# NOT RUN: the Debian 13 / LibTorch 2.6 check (no cached chroot\n# build at %s; a cold run takes about an hour).\n# Run it with: NAS_DEBIAN13=1 bash scripts/test.sh, or\n# bash scripts/debian13-check.sh; last result: docs/BENCHMARKS.md.\n%s\n\n' \
    "$line" "$d13_root" "$line" >&2
fi

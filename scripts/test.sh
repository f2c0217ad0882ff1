#!/usr/bin/env bash
# README command 2: set-up (packages, build), clang's lock check
# (scripts/thread-safety.sh: -Wthread-safety over controller/ and worker/,
# any warning fails), then the whole test suite:
# unit tests, store integration tests against a throw-away PostgreSQL, worker
# tests with real LibTorch training on Fashion-MNIST, and end-to-end tests
# with controller and worker processes over loopback gRPC; last, the
# libFuzzer targets (label fuzz: a clang build of their own, then each target
# for $NAS_FUZZ_SECONDS, default 30, see tests/fuzz/README.md).
# After ctest, scripts/debian13-check.sh builds the LibTorch targets against
# Debian 13's LibTorch 2.6 in a chroot and runs their tests (needs root and,
# the first time, Debian's mirrors; it fails when it cannot run, unless
# NAS_SKIP_DEBIAN13=1, which skips it with a banner).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/build.sh"
build=${NAS_BUILD_DIR:-$repo/build}
NAS_BUILD_DIR="$build" bash "$repo/scripts/thread-safety.sh"
cd "$build"
# One test at a time: the end-to-end and training tests use both cores.
ctest --output-on-failure --timeout 1200 "$@"
bash "$repo/scripts/debian13-check.sh"

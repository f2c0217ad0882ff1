#!/usr/bin/env bash
# The binaries' own answers that images and operators rely on (issue 23):
#   check_binaries.sh BUILD_DIR
# - `--version` prints exactly one line "<binary> <version> (revision ...)"
#   with the project's version and exits 0;
# - `--help` prints the usage and the binary's important flags (absl's
#   default printed none: it looks for a file named after the binary).
# Exit 0 = pass; a message per failure otherwise.
set -uo pipefail
build=${1:?usage: check_binaries.sh BUILD_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^project(nas[^)]*VERSION \([0-9.]*\).*/\1/p' \
  "$repo/CMakeLists.txt" | head -n1)
failed=0
fail() { echo "check_binaries.sh: FAIL: $*" >&2; failed=1; }
[[ -n "$version" ]] || fail "no project(... VERSION x.y.z) in CMakeLists.txt"

check() {
  local name=$1 path=$2; shift 2
  local out rc
  out=$("$build/$path" --version 2>&1); rc=$?
  [[ $rc -eq 0 ]] || fail "$name --version exited $rc: $out"
  [[ $(wc -l <<<"$out") -eq 1 ]] || fail "$name --version: not one line: $out"
  [[ "$out" =~ ^$name\ $version\ \(revision\ [^,]+,\ [^,]+,\ .+\)$ ]] ||
    fail "$name --version printed '$out'"
  echo "$out"
  out=$("$build/$path" --help 2>&1)
  grep -q "usage: $name" <<<"$out" || fail "$name --help has no usage line"
  local flag
  for flag in "$@"; do
    grep -q -- "-$flag" <<<"$out" || fail "$name --help does not list --$flag"
  done
  grep -q -- "--helpfull" <<<"$out" ||
    fail "$name --help does not point at --helpfull"
  echo "$name --help: usage and $# flags listed"
}

check nas-controller controller/nas-controller listen database \
  metrics_address migrations_dir client_token_file worker_token_file tls_cert
check nas-worker worker/nas-worker controller device metrics_address \
  cache_dir data_cache_dir token_file labels
exit $failed

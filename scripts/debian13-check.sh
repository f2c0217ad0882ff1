#!/usr/bin/env bash
# Issue 19: builds the LibTorch parts of the house against Debian 13's
# LibTorch 2.6 and runs their tests, in a Debian 13 (trixie) chroot:
# nas-worker, worker_tests, dataset_test, command_torch_test (candidate.pt
# in Debian 13's Python PyTorch) and controller_unit_test (the REINFORCE
# strategy, the controller's only LibTorch code; it links the whole
# controller, so this also compiles the store against libpqxx 7.10).
#
# One command, idempotent, incremental on reruns:
#   - the chroot lives in ${NAS_CACHE_DIR:-~/.cache/nas-service}/trixie-chroot
#     (debootstrap --variant=minbase, main+contrib); it is created when
#     missing (into a .partial directory, renamed when complete);
#   - the package list below is installed when it differs from the one
#     recorded in the chroot's /etc/nas-debian13-packages (so apt-get, and
#     the network, are needed only the first time and when the list changes);
#   - the working tree (tracked and untracked-not-ignored files, as
#     `git ls-files -co --exclude-standard` lists them) is copied to the
#     chroot's /src, writing only the files whose content differs, and files
#     no longer in the tree are removed there; the build directory (/build) and the compiler
#     cache (/ccache) stay between runs, so a rerun rebuilds what changed;
#   - the tests run inside the chroot with /proc and /dev mounted (unmounted
#     again on any exit);
#   - a summary names the LibTorch version and each binary's passed/failed
#     counts; the exit status is non-zero on any failure.
#
# Needs root (debootstrap, chroot, mount). When it cannot run here it fails,
# saying why; NAS_SKIP_DEBIAN13=1 skips it with a banner instead.
#
# Environment: NAS_CACHE_DIR, NAS_JOBS (build jobs, default nproc),
# NAS_DEBIAN13_ROOT (the chroot, overrides the default place),
# NAS_DEBIAN13_MIRROR (default http://deb.debian.org/debian),
# NAS_DEBIAN13_TEST_TIMEOUT (seconds per test binary, default 1800).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${NAS_CACHE_DIR:-$HOME/.cache/nas-service}
root=${NAS_DEBIAN13_ROOT:-$cache/trixie-chroot}
mirror=${NAS_DEBIAN13_MIRROR:-http://deb.debian.org/debian}
jobs=${NAS_JOBS:-$(nproc)}
test_timeout=${NAS_DEBIAN13_TEST_TIMEOUT:-1800}

# What the LibTorch targets need on Debian 13 (the build dependencies of
# scripts/install-deps.sh, less the controller's run-time services, the
# benchmarks' peers and clang). Editing this list reinstalls on the next run.
PKGS=(
  g++ cmake ninja-build pkg-config ccache
  libtorch-dev libgrpc++-dev protobuf-compiler-grpc protobuf-compiler
  libprotobuf-dev libabsl-dev libpqxx-dev prometheus-cpp-dev libssl-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev zlib1g-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  dataset-fashion-mnist python3 python3-torch
  curl  # controller_unit_test reads /metrics with it
)
# Built, then run (each binary in full) in this order.
TESTS=(worker_tests dataset_test command_torch_test controller_unit_test)
TARGETS=(nas-worker "${TESTS[@]}")

say() { echo "debian13-check: $*" >&2; }
banner() {
  local line="################################################################"
  printf '\n%s\n# %s\n%s\n\n' "$line" "$*" "$line" >&2
}

if [[ ${NAS_SKIP_DEBIAN13:-0} == 1 ]]; then
  banner "SKIPPED: the Debian 13 / LibTorch 2.6 check (NAS_SKIP_DEBIAN13=1)." \
    "Nothing was built or tested against LibTorch 2.6."
  exit 0
fi
cannot_run() {
  say "cannot run: $*"
  say "(set NAS_SKIP_DEBIAN13=1 to skip this check, with a banner)"
  exit 2
}
[[ $(id -u) -eq 0 ]] || cannot_run "needs root (debootstrap, chroot, mount)"
command -v chroot >/dev/null || cannot_run "no chroot(8)"

# Elapsed time per phase, printed at the end (and on failure).
phase_names=()
phase_secs=()
phase_name=""
phase_start=0
phase() {
  local now=$SECONDS
  if [[ -n $phase_name ]]; then
    phase_names+=("$phase_name")
    phase_secs+=($((now - phase_start)))
  fi
  phase_name=$1
  phase_start=$now
  [[ -z $1 ]] || say "== $1"
}
print_phases() {
  phase ""
  local i total=0
  for i in "${!phase_names[@]}"; do
    printf 'debian13-check:   %-34s %5d s\n' "${phase_names[$i]}" "${phase_secs[$i]}" >&2
    total=$((total + phase_secs[i]))
  done
  printf 'debian13-check:   %-34s %5d s\n' "total" "$total" >&2
}

# One run at a time per chroot.
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock -n 9 || { say "waiting for another run on $root"; flock 9; }

mounted=()
tmpfiles=()
cleanup() {
  local rc=$? m
  rm -f "${tmpfiles[@]}"
  for ((m = ${#mounted[@]} - 1; m >= 0; m--)); do
    umount "${mounted[$m]}" || umount -l "${mounted[$m]}" || true
  done
  mounted=()
  if [[ $rc -ne 0 && -n $phase_name ]]; then
    say "failed in phase: $phase_name"
    print_phases
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount_in_chroot() {
  if ! mountpoint -q "$root/proc"; then
    mount -t proc proc "$root/proc"
    mounted+=("$root/proc")
  fi
  if ! mountpoint -q "$root/dev"; then
    mount --bind /dev "$root/dev"
    mounted+=("$root/dev")
  fi
}
# Runs a command in the chroot with a clean environment.
in_chroot() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive CCACHE_DIR=/ccache CCACHE_MAXSIZE=5G \
    "$@"
}

# --- 1. the chroot ------------------------------------------------------------
phase "chroot"
if [[ ! -x $root/usr/bin/apt-get ]]; then
  command -v debootstrap >/dev/null ||
    cannot_run "no debootstrap (scripts/install-deps.sh installs it)"
  rm -rf "$root.partial"
  say "creating $root (debootstrap trixie, minbase, main+contrib)"
  debootstrap --variant=minbase --components=main,contrib trixie \
    "$root.partial" "$mirror" >"$cache/trixie-debootstrap.log" 2>&1 ||
    cannot_run "debootstrap failed (network? see $cache/trixie-debootstrap.log)"
  mv "$root.partial" "$root"
else
  say "using $root (Debian $(cat "$root/etc/debian_version"))"
fi

# --- 2. packages ----------------------------------------------------------------
phase "packages"
stamp=$root/etc/nas-debian13-packages
wanted=$(printf '%s\n' "${PKGS[@]}")
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
  say "installing ${#PKGS[@]} packages"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  mount_in_chroot
  aptlog=$cache/trixie-apt.log
  in_chroot apt-get update -qq >"$aptlog" 2>&1 ||
    cannot_run "apt-get update failed in the chroot (network? see $aptlog)"
  in_chroot apt-get install -y -qq --no-install-recommends "${PKGS[@]}" \
    >>"$aptlog" 2>&1 || cannot_run "apt-get install failed in the chroot (see $aptlog)"
  in_chroot apt-get clean
  echo "$wanted" >"$stamp"
else
  say "package list unchanged"
fi

# --- 3. the working tree ----------------------------------------------------------
phase "copy tree"
mkdir -p "$root/src" "$root/build" "$root/ccache"
list=$(mktemp)
have=$(mktemp)
tmpfiles+=("$list" "$have")
# Files that exist (a tracked file deleted in the work tree is left out).
(cd "$repo" && git ls-files -co --exclude-standard -z |
  while IFS= read -r -d '' f; do
    if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi
  done | sort -z) >"$list"
# Only files whose content differs are written, and they get the time of
# the copy: ninja rebuilds what changed and nothing else. (Keeping the work
# tree's times, as tar or rsync -a do, misses an edit made while a build was
# running: the object built then is newer than the edited file.)
changed=0
while IFS= read -r -d '' f; do
  src=$repo/$f dst=$root/src/$f
  if [[ -L $src ]]; then
    [[ -L $dst && $(readlink "$dst") == "$(readlink "$src")" ]] && continue
    mkdir -p "$(dirname "$dst")"
    rm -rf "$dst"
    cp -P "$src" "$dst"
  else
    [[ -f $dst && ! -L $dst ]] && cmp -s "$src" "$dst" && continue
    mkdir -p "$(dirname "$dst")"
    rm -rf "$dst"
    cp --preserve=mode "$src" "$dst"
  fi
  changed=$((changed + 1))
done <"$list"
(cd "$root/src" && find . \( -type f -o -type l \) -printf '%P\0' | sort -z) >"$have"
removed=$(comm -z -23 "$have" "$list" | tr '\0' '\n' | grep -c . || true)
(cd "$root/src" && comm -z -23 "$have" "$list" | xargs -0 -r rm -f --)
find "$root/src" -mindepth 1 -type d -empty -delete
say "$(tr -cd '\0' <"$list" | wc -c) files in the tree: $changed written to $root/src, $removed removed"

# --- 4. configure and build -----------------------------------------------------
mount_in_chroot
phase "configure"
in_chroot cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNAS_BUILD_TESTS=ON -DNAS_BUILD_BENCH=OFF \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >"$root/build/configure.log" 2>&1 || {
  tail -n 40 "$root/build/configure.log" >&2
  exit 1
}
phase "build (${#TARGETS[@]} targets, $jobs jobs)"
in_chroot ccache -z >/dev/null
in_chroot cmake --build /build -j "$jobs" $(printf -- '--target %s ' "${TARGETS[@]}")
in_chroot ccache -s 2>/dev/null | grep -iE "^ *(hits|misses)" | head -2 >&2 || true

# --- 5. tests -----------------------------------------------------------------------
phase "tests"
torch=$(in_chroot dpkg-query -W -f='${Version}' libtorch-dev)
pytorch=$(in_chroot python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
rm -rf "$root/build/debian13-results"
mkdir -p "$root/build/debian13-results"
failed_bins=()
for t in "${TESTS[@]}"; do
  bin=$(cd "$root/build" && find . -type f -name "$t" -perm -u+x -printf '%P\n' | head -1)
  if [[ -z $bin ]]; then
    say "$t: binary not found"
    failed_bins+=("$t")
    continue
  fi
  say "running $t"
  start=$SECONDS
  if ! in_chroot sh -c "cd /build/$(dirname "$bin") && exec timeout $test_timeout ./$t \
      --gtest_brief=1 --gtest_output=json:/build/debian13-results/$t.json" \
      >"$root/build/debian13-results/$t.log" 2>&1; then
    failed_bins+=("$t")
    tail -n 60 "$root/build/debian13-results/$t.log" >&2
  fi
  echo $((SECONDS - start)) >"$root/build/debian13-results/$t.secs"
done

# --- summary ----------------------------------------------------------------------------
print_phases
phase_name=""
summary=$(in_chroot python3 - "${TESTS[@]}" <<'EOF'
import json, os, sys
d = "/build/debian13-results"
tp = tf = 0
for t in sys.argv[1:]:
    secs = open(f"{d}/{t}.secs").read().strip() if os.path.exists(f"{d}/{t}.secs") else "?"
    try:
        r = json.load(open(f"{d}/{t}.json"))
    except Exception:
        print(f"  {t:24s} no results (crashed or not built)")
        tf += 1
        continue
    failed = [f"{s['name']}.{c['name']}" for s in r["testsuites"] for c in s["testsuite"]
              if c.get("failures")]
    ran = sum(1 for s in r["testsuites"] for c in s["testsuite"] if c.get("result") == "COMPLETED"
              and c.get("status", "RUN") == "RUN")
    passed = ran - len(failed)
    tp += passed
    tf += len(failed)
    print(f"  {t:24s} {passed:4d} passed {len(failed):4d} failed  ({secs} s)")
    for f in failed:
        print(f"      FAILED {f}")
print(f"  {'all':24s} {tp:4d} passed {tf:4d} failed")
EOF
) || summary="  (could not read the results)"
echo
echo "Debian 13 check: LibTorch $torch (Python PyTorch $pytorch), $(in_chroot sh -c 'dpkg-query -W -f="libpqxx \${Version}" libpqxx-dev')"
echo "$summary"
if ((${#failed_bins[@]})); then
  echo "Debian 13 check: FAILED (${failed_bins[*]}; logs in $root/build/debian13-results)"
  exit 1
fi
echo "Debian 13 check: all tests passed against LibTorch $torch"

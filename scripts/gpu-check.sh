#!/usr/bin/env bash
# The worker's training core on a GPU, in one command (issue 19): builds
# bench/gpu_check against a given LibTorch in the training-core-only
# configuration (-DNAS_TRAINING_CORE_ONLY=ON), runs it, prints its tables.
# For a machine that has an NVIDIA GPU, a C++ compiler, CMake and a CUDA
# LibTorch (e.g. inside an installed PyTorch) but no other dependency of the
# project; CI runs it on the CPU against Debian's LibTorch
# (scripts/test.sh: --device=cpu --quick).
#
#   scripts/gpu-check.sh prepare-prefix DIR
#       On a Debian 12 machine with apt: downloads (apt-get download, no
#       install) the Debian 12 packages of the core's dependencies other than
#       LibTorch (Abseil, Protobuf + protoc, zlib, OpenSSL, OpenCV core/
#       imgproc/imgcodecs) and their recursive dependencies, less what any
#       Debian/Ubuntu base system and C++ toolchain has, and unpacks them
#       (dpkg -x) into DIR. Copy DIR to the GPU machine (same path or not).
#
#   scripts/gpu-check.sh [--libtorch=DIR] [--prefix=DIR] [--device=auto|cpu|cuda|cuda:N]
#                        [--python=PY] [--steps=N] [--build-dir=DIR] [--quick]
#                        [-- gpu_check flags...]
#       --libtorch: a LibTorch directory (include/, lib/; a LibTorch zip or
#         the torch/ folder of a PyTorch wheel) or a directory with
#         TorchConfig.cmake, or "system" (find_package(Torch), as the
#         normal build: CI uses it, so ccache shares the objects). Default:
#         the LibTorch inside --python's torch when it has one, else the
#         system's.
#       --prefix: a prepare-prefix DIR (default: none, the system's
#         libraries). --python: the Python PyTorch to compare against
#         (default /usr/bin/python3). --steps: accuracy steps (default 400;
#         --quick: 120). --quick: two architectures, short speed runs (CI).
#       --build-dir: default build-gpucheck/ in the repository (ccache in
#         $NAS_CACHE_DIR as scripts/build.sh). Writes gpu_check.json there.
#       Exits with gpu_check's status: 0 all enforced checks passed, 1 a
#       check failed (named), 2 a setup error; 3 when this script refuses
#       (a LibTorch it cannot link, see the C++ ABI check below).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
arch=$(uname -m)-linux-gnu

die() { echo "gpu-check: $*" >&2; exit 3; }

# --- prepare-prefix ----------------------------------------------------------
# What the training core links besides LibTorch (see CMakeLists.txt,
# NAS_TRAINING_CORE_ONLY).
CORE_PACKAGES=(libabsl-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libssl-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev)
# What any Debian/Ubuntu system with a C++ compiler has (besides every
# package of priority required or important, skipped too): the C library,
# the compiler's runtime and headers.
BASE_PACKAGES=(libc6 libc6-dev libc-dev-bin linux-libc-dev libcrypt1
  libcrypt-dev libgcc-s1 libstdc++6 gcc-12-base libstdc++-12-dev
  libgcc-12-dev libnsl2 libnsl-dev libtirpc3 libtirpc-dev libtirpc-common
  rpcsvc-proto zlib1g debconf dpkg tar perl-base libselinux1 libpcre2-8-0)
# Packages apt installs that nothing the core links needs at link or run
# time: data, fonts, and the Mesa/LLVM GL drivers (dlopen()ed by libglvnd,
# never a DT_NEEDED). The check after unpacking proves it.
is_unneeded() {
  case "$1" in
    fonts-* | *-data | libgl1-mesa-dri | libglx-mesa0 | libllvm* | libz3-* | \
      mesa-* | libdrm-common | libwayland-* | ucf | sensible-utils | \
      x11-common | adduser | passwd | libsensors* | libelf1 | \
      libxcb-* | libx11-* | libxshmfence1 | libxxf86vm1 | libgbm1 | \
      libvulkan1 | libglapi-mesa | libgl1 | libglx0 | libglvnd0) return 0 ;;
  esac
  return 1
}

# Every DT_NEEDED of every ELF file under DIR resolves in DIR or in the
# base system's library directories; prints what does not.
check_prefix() {
  local dir=$1 missing=0 f lib
  local -a search=("$dir/usr/lib/$arch" "$dir/lib/$arch" "$dir/usr/lib"
    "/lib/$arch" "/usr/lib/$arch" /lib64 /usr/lib64 /lib /usr/lib)
  declare -A seen=()
  while IFS= read -r f; do
    while IFS= read -r lib; do
      [[ -n "${seen[$lib]:-}" ]] && continue
      seen[$lib]=1
      local found=""
      for d in "${search[@]}" "$dir/usr/lib/$arch/blas" \
        "$dir/usr/lib/$arch/lapack"; do
        if [[ -e "$d/$lib" ]]; then found=1; break; fi
      done
      if [[ -z "$found" ]]; then
        echo "gpu-check: $lib (needed by ${f#"$dir"/}) is in neither $dir nor the base system" >&2
        missing=1
      fi
    done < <(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  done < <(find "$dir/usr/lib" "$dir/usr/bin" -type f \( -name '*.so*' -o -perm -u+x \) 2>/dev/null)
  return $missing
}

prepare_prefix() {
  local dir=$1
  command -v apt-get >/dev/null || die "prepare-prefix needs apt (Debian 12)"
  . /etc/os-release
  [[ "${VERSION_CODENAME:-}" == bookworm ]] ||
    echo "gpu-check: warning: this is ${PRETTY_NAME:-not Debian 12}; the prefix holds its packages" >&2
  local start=$SECONDS
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  # apt's own resolution as on an empty system (one provider per virtual
  # package or alternative, as an install would pick), not installed here.
  : >"$work/status"
  apt-get -s install --no-install-recommends -o Dir::State::Status="$work/status" \
    "${CORE_PACKAGES[@]}" 2>/dev/null | awk '/^Inst /{print $2}' | sort -u >"$work/all"
  [[ -s "$work/all" ]] || die "apt-get could not resolve ${CORE_PACKAGES[*]} (apt-get update?)"
  # Skip priority required/important (every Debian/Ubuntu base has them),
  # the toolchain's, and the unneeded.
  apt-cache show --no-all-versions $(cat "$work/all") 2>/dev/null |
    awk '/^Package:/{p=$2} /^(Priority: (required|important)|Essential: yes)/{print p}' |
    sort -u >"$work/base"
  printf '%s\n' "${BASE_PACKAGES[@]}" >>"$work/base"
  local -a get=() skipped=()
  local p
  while IFS= read -r p; do
    if grep -qx "$p" "$work/base" || is_unneeded "$p"; then
      skipped+=("$p")
    else
      get+=("$p")
    fi
  done <"$work/all"
  echo "gpu-check: downloading ${#get[@]} packages (skipping ${#skipped[@]} of the base system or unneeded)" >&2
  (cd "$work" && apt-get download -q "${get[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
    die "apt-get download failed"
  local deb
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$dir"; done
  # Absolute symbolic links (/usr/lib/...) would point outside DIR once
  # copied: make them relative.
  local link target
  while IFS= read -r link; do
    target=$(readlink "$link")
    if [[ "$target" == /* && -e "$dir$target" ]]; then
      ln -sfn "$(realpath --relative-to="$(dirname "$link")" "$dir$target")" "$link"
    fi
  done < <(find "$dir" -type l)
  # BLAS and LAPACK are chosen by update-alternatives in a postinst, which
  # dpkg -x does not run: link the unpacked reference ones.
  local alt so
  for alt in blas lapack; do
    for so in "$dir/usr/lib/$arch/$alt"/lib*.so.*; do
      [[ -e "$so" ]] && ln -sfn "$alt/$(basename "$so")" "$dir/usr/lib/$arch/$(basename "$so")"
    done
  done
  printf '%s\n' "${get[@]}" >"$dir/PACKAGES"
  if ! check_prefix "$dir"; then
    die "the prefix misses libraries (above): adjust is_unneeded/BASE_PACKAGES in $0"
  fi
  local debs size
  debs=$(du -sh "$work" | cut -f1)
  size=$(du -sh "$dir" | cut -f1)
  echo "gpu-check: prefix $dir: ${#get[@]} packages ($debs of .deb files), $size unpacked, in $((SECONDS - start)) s; list in $dir/PACKAGES" >&2
}

if [[ "${1:-}" == prepare-prefix ]]; then
  [[ $# -eq 2 ]] || die "usage: $0 prepare-prefix DIR"
  prepare_prefix "$2"
  exit 0
fi

# --- build and run -----------------------------------------------------------
libtorch="" prefix="" device=auto python=/usr/bin/python3 steps="" quick=0
build="$repo/build-gpucheck"
extra=()
while (($#)); do
  case "$1" in
    --libtorch=*) libtorch=${1#*=} ;;
    --prefix=*) prefix=${1#*=} ;;
    --device=*) device=${1#*=} ;;
    --python=*) python=${1#*=} ;;
    --steps=*) steps=${1#*=} ;;
    --build-dir=*) build=${1#*=} ;;
    --quick) quick=1 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (--help)" ;;
  esac
  shift
done
start=$SECONDS

# LibTorch: the given one, or the one inside Python's torch, or the system's.
python_torch_dir=""
if [[ -x "$python" || -n "$(command -v "$python" 2>/dev/null)" ]]; then
  python_torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null || true)
fi
if [[ "$libtorch" == system ]]; then
  libtorch=""  # find_package(Torch), as the normal build
elif [[ -z "$libtorch" && -n "$python_torch_dir" && -d "$python_torch_dir/include/torch" && -d "$python_torch_dir/lib" ]]; then
  libtorch=$python_torch_dir
fi

# The C++ ABI: Debian's Abseil and Protobuf use the C++11 ABI
# (std::__cxx11::basic_string in their interfaces); a LibTorch built with
# -D_GLIBCXX_USE_CXX11_ABI=0 (every PyTorch wheel before 2.7, and the
# "pre-cxx11" LibTorch zips) cannot link with them.
cxx11_abi=""
if [[ -n "$libtorch" && "$libtorch" == "$python_torch_dir" ]]; then
  cxx11_abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || true)
fi
if [[ -z "$cxx11_abi" && -n "$libtorch" ]]; then
  c10=$(find "$libtorch" -name 'libc10.so*' -print -quit 2>/dev/null || true)
  if [[ -n "$c10" ]]; then
    # Any exported symbol taking a std::string names the ABI.
    if nm -D --defined-only "$c10" 2>/dev/null | grep -q '__cxx11'; then cxx11_abi=1; else cxx11_abi=0; fi
  fi
fi
if [[ "$cxx11_abi" == 0 ]]; then
  die "$libtorch is built with the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0, as every PyTorch wheel before 2.7); Debian's Abseil and Protobuf need the C++11 ABI, so it cannot link with them. Use instead: PyTorch >= 2.7 from pip (e.g. pip install torch==2.7.1 --index-url https://download.pytorch.org/whl/cu126, then --python=that Python), or the cxx11-ABI LibTorch zip from pytorch.org (libtorch-cxx11-abi-shared-with-deps-*.zip, --libtorch=its folder), or Debian 13's libtorch-cuda-dev."
fi

cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNAS_TRAINING_CORE_ONLY=ON)
command -v ninja >/dev/null || cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNAS_TRAINING_CORE_ONLY=ON)
if [[ -n "$libtorch" ]]; then
  if [[ -f "$libtorch/TorchConfig.cmake" ]]; then
    cmake_args+=(-DTorch_DIR="$libtorch")
  elif [[ -d "$libtorch/include/torch" && -d "$libtorch/lib" ]]; then
    # Imported directly: TorchConfig.cmake wants a CUDA toolkit (nvcc) for a
    # CUDA LibTorch, which the core does not need (cmake/NasLibTorch.cmake).
    cmake_args+=(-DNAS_LIBTORCH_ROOT="$(cd "$libtorch" && pwd)")
  else
    die "--libtorch=$libtorch has neither TorchConfig.cmake nor include/torch and lib/"
  fi
fi
if [[ -n "$prefix" ]]; then
  prefix=$(cd "$prefix" && pwd)
  [[ -f "$prefix/PACKAGES" ]] || die "--prefix=$prefix was not made by '$0 prepare-prefix'"
  # CMake's find_* search <prefix>/usr and its multiarch library folder;
  # protoc and the test run find the prefix's shared libraries.
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix/usr;$prefix/usr/lib/$arch/cmake"
    -DCMAKE_LIBRARY_PATH="$prefix/usr/lib/$arch"
    -DCMAKE_INCLUDE_PATH="$prefix/usr/include"
    -DCMAKE_PROGRAM_PATH="$prefix/usr/bin"
    -DNAS_OPENCV_INCLUDE_DIR="$prefix/usr/include/opencv4"
    -DCMAKE_BUILD_RPATH="$prefix/usr/lib/$arch")
  export LD_LIBRARY_PATH="$prefix/usr/lib/$arch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# ccache as scripts/build.sh: shared by every clone, paths relative to it.
cache=${NAS_CACHE_DIR:-$HOME/.cache/nas-service}
if command -v ccache >/dev/null; then
  mkdir -p "$cache/ccache"
  export CCACHE_DIR="$cache/ccache" CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
  export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1
fi
jobs=${NAS_JOBS:-$(nproc)}
torch_label=${libtorch:-"the system LibTorch"}
echo "gpu-check: configuring $build (LibTorch: $torch_label${prefix:+; prefix $prefix})" >&2
mkdir -p "$build"
cmake -S "$repo" -B "$build" "${cmake_args[@]}" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; die "cmake failed (above)"; }
echo "gpu-check: building gpu_check with $jobs jobs" >&2
cmake --build "$build" -j "$jobs" --target gpu_check
echo "gpu-check: built in $((SECONDS - start)) s" >&2

run_args=(--device="$device" --python="$python" --out="$build/gpu_check.json")
if ((quick)); then
  run_args+=(--archs=nb201-medium,mobilenet-small --steps="${steps:-120}"
    --speed_steps=8 --warmup_steps=2 --reps=1 --latency_runs=20)
else
  run_args+=(--steps="${steps:-400}")
fi
set +e
"$build/bench/gpu_check" "${run_args[@]}" "${extra[@]}"
rc=$?
set -e
echo "gpu-check: gpu_check exited $rc after $((SECONDS - start)) s in all; JSON: $build/gpu_check.json" >&2
exit $rc

#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the demo and the tests need.
# Idempotent: only missing packages are installed. Must run as root (or via sudo).
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libtorch-dev libabsl-dev libpqxx-dev prometheus-cpp-dev libssl-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev zlib1g-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  postgresql-15 postgresql-client-15 dataset-fashion-mnist
  python3 python3-torch util-linux procps ca-certificates
  python3-grpcio python3-protobuf tmux openssl
  python3-venv python3-pip python3-setuptools python3-wheel  # the nas-client package (pip, offline)
  prometheus docker-compose curl python3-kubernetes python3-yaml
  python3-optuna python3-sqlalchemy python3-psycopg2 postgresql-contrib
  python3-torchvision  # bench/data_pipeline's peer (torchvision ImageFolder + PIL)
  clang libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
  debootstrap  # the Debian 13 / LibTorch 2.6 chroot (scripts/debian13-check.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi


#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the demo and the tests need.
# Idempotent: only missing packages are installed. Must run as root (or via sudo).
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libtorch-dev libabsl-dev libpqxx-dev prometheus-cpp-dev libssl-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev zlib1g-dev
  postgresql-15 postgresql-client-15 dataset-fashion-mnist
  python3 python3-torch util-linux procps ca-certificates
  python3-grpcio python3-protobuf tmux openssl
  python3-optuna python3-sqlalchemy python3-psycopg2 postgresql-contrib
  prometheus docker-compose curl
)
# npm (for the Kubernetes schema validator below): Debian's package, unless
# some npm is installed already (e.g. bundled with another nodejs build).
if ! command -v npm >/dev/null 2>&1; then PKGS+=(npm); fi
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

# The Kubernetes manifests' schema check (tests/deploy) uses the npm package
# kubernetes-models, which bundles the Kubernetes OpenAPI schemas (nothing is
# downloaded at test time). Installed once into the shared cache, outside
# the repository; the exact versions are in tests/deploy/package.json.
cache=${NAS_CACHE_DIR:-$HOME/.cache/nas-service}
npm_dir="$cache/npm-kube"
repo=$(cd "$(dirname "$0")/.." && pwd)
if ! cmp -s "$repo/tests/deploy/package.json" "$npm_dir/package.json" ||
   [[ ! -d "$npm_dir/node_modules/kubernetes-models" ]]; then
  echo "install-deps: npm packages for the manifest check into $npm_dir"
  rm -rf "$npm_dir" && mkdir -p "$npm_dir"
  cp "$repo/tests/deploy/package.json" "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund --no-package-lock \
     --loglevel=error)
fi

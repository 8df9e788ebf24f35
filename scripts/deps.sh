#!/usr/bin/env bash
# Installs what batchq needs to build, test and run, when missing: Debian packages,
# and the npm packages of the browser test (tests/ui) and of the Kubernetes manifests
# offline check (deploy/kubernetes/check).
# Usage: scripts/deps.sh [--with-bench]   (as root, or with sudo available)
set -euo pipefail
# Prebuilt binaries (BATCHQ_BIN_DIR, see scripts/build.sh) come with their libraries.
[[ -n "${BATCHQ_BIN_DIR:-}" ]] && exit 0

packages=(build-essential cmake ninja-build pkg-config git clang-format python3
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libhiredis-dev libcli11-dev libboost-dev libjemalloc-dev
  libspdlog-dev libfmt-dev libsimdjson-dev libgtest-dev libbenchmark-dev
  libopenblas-dev libpng-dev prometheus-cpp-dev libssl-dev openssl
  redis-server redis-tools redis-sentinel curl clang-19 libclang-rt-19-dev llvm-19
  docker.io docker-compose debootstrap prometheus chromium iproute2
  python3-dev pybind11-dev python3-numpy python3-torch python3-fastapi python3-uvicorn)
if [[ "${1:-}" == "--with-bench" ]]; then
  packages+=(wrk nginx-light python3-matplotlib valgrind linux-perf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The dashboard's browser test drives Debian's chromium with playwright-core (npm,
# pinned by tests/ui/package-lock.json; no browser download).
# The manifests' check validates with kubernetes-models (pinned the same way).
for npm_dir in tests/ui deploy/kubernetes/check; do
  dir=$(dirname "$0")/../$npm_dir
  if [[ ! -d $dir/node_modules ]] ||
     [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done

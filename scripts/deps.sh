#!/usr/bin/env bash
# Installs what batchq needs to build, test and run, when missing: Debian packages,
# and the one npm package of the browser test (tests/ui).
# Usage: scripts/deps.sh [--with-bench]   (as root, or with sudo available)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config git clang-format python3
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libhiredis-dev libcli11-dev libboost-dev
  libspdlog-dev libfmt-dev libsimdjson-dev libgtest-dev libbenchmark-dev
  libopenblas-dev libpng-dev prometheus-cpp-dev libssl-dev openssl
  redis-server redis-tools redis-sentinel curl clang-19 libclang-rt-19-dev
  docker.io docker-compose debootstrap prometheus chromium)
if [[ "${1:-}" == "--with-bench" ]]; then
  packages+=(wrk nginx-light python3-matplotlib)
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
ui=$(dirname "$0")/../tests/ui
if [[ ! -d $ui/node_modules/playwright-core ]] ||
   [[ $ui/package-lock.json -nt $ui/node_modules/.package-lock.json ]]; then
  (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

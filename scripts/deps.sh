#!/usr/bin/env bash
# Installs the Debian packages batchq needs to build, test and run, when missing.
# Usage: scripts/deps.sh [--with-bench]   (as root, or with sudo available)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config git clang-format
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libhiredis-dev libcli11-dev libboost-dev
  libspdlog-dev libfmt-dev libsimdjson-dev libgtest-dev libbenchmark-dev
  libopenblas-dev libpng-dev prometheus-cpp-dev
  redis-server redis-tools docker-compose curl)
if [[ "${1:-}" == "--with-bench" ]]; then
  packages+=(wrk nginx-light python3-matplotlib)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

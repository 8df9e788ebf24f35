#!/usr/bin/env bash
# Configures and builds batchq. Usage: scripts/build.sh [--sanitize]
# Normal build: build/ (CUDA handlers included whenever nvcc is found).
# --sanitize:   build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${1:-}" == "--sanitize" ]]; then
  dir=build-asan
  args=(-DCMAKE_BUILD_TYPE=Debug -DBATCHQ_SANITIZE=ON -DBATCHQ_BENCH=OFF)
fi
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir" >&2
echo "$dir"

#!/usr/bin/env bash
# Configures and builds batchq. Usage: scripts/build.sh [--sanitize|--fuzz]
# Normal build: build/ (CUDA handlers included whenever nvcc is found).
# --sanitize:   build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer (clang-19),
#               the libFuzzer targets of tests/fuzz included.
# --fuzz:       build-fuzz/ with clang-19: the libFuzzer targets of tests/fuzz only, at -O2,
#               for fuzzing longer than the suite does.
# BATCHQ_BIN_DIR names a build folder made on another machine (the same layout: broker/,
# gateway/, gpu_worker/, cli/, tests/, bench/): the normal build is then not configured or
# built, for a GPU host that has the runtime libraries but no toolchain. Callers get its path
# relative to the checkout, as they get build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${BATCHQ_BIN_DIR:-}" && $# -eq 0 ]]; then
  [[ -x "$BATCHQ_BIN_DIR/gateway/gateway" ]] || {
    echo "BATCHQ_BIN_DIR=$BATCHQ_BIN_DIR holds no gateway/gateway" >&2
    exit 1
  }
  realpath --relative-to=. "$BATCHQ_BIN_DIR"
  exit 0
fi

dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
# BATCHQ_DEBUG_INFO=lines: line tables only (-g1) in the normal build, about a third less
# compile time on the Beast-heavy sources, for CI; backtraces and profiles still name
# functions and lines, but a debugger shows no local variables. =full goes back to -g.
# The choice stays in build/'s cache until changed.
case "${BATCHQ_DEBUG_INFO:-}" in
  "") ;;
  lines) args+=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
                "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  full) args+=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG"
               "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG") ;;
  *) echo "BATCHQ_DEBUG_INFO must be lines or full, not '$BATCHQ_DEBUG_INFO'" >&2; exit 2 ;;
esac
# The ASan+UBSan build uses clang-19: it compiled the sanitized code in 0.61x the CPU
# GCC 12 took (docs/BENCHMARKS.md), and CI then builds with both compilers. It builds the
# fuzz targets too (the libraries they link take libFuzzer's coverage there), so they
# run from it rather than from a third build of the same sources.
if [[ "${1:-}" == "--sanitize" ]]; then
  dir=build-asan
  args=(-DCMAKE_BUILD_TYPE=Debug -DBATCHQ_SANITIZE=ON -DBATCHQ_FUZZ=ON -DBATCHQ_BENCH=OFF
        -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19)
fi
target=()
if [[ "${1:-}" == "--fuzz" ]]; then
  dir=build-fuzz
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19
        -DCMAKE_CXX_COMPILER=clang++-19 -DBATCHQ_FUZZ=ON -DBUILD_TESTING=OFF
        -DBATCHQ_BENCH=OFF -DBATCHQ_CUDA=OFF)
  target=(fuzz_targets)
fi
# BATCHQ_UNITY_BUILD=on: CMake's unity build, eight sources of a target compiled as one, so
# the headers they share (Boost, GoogleTest, spdlog) are parsed once per eight: for CI and
# image builds, which compile everything once, in each folder. An edit then recompiles
# its seven neighbours too, so it is off unless asked for, whatever the cache held.
case "${BATCHQ_UNITY_BUILD:-off}" in
  on) args+=(-DCMAKE_UNITY_BUILD=ON) ;;
  off) args+=(-DCMAKE_UNITY_BUILD=OFF) ;;
  *) echo "BATCHQ_UNITY_BUILD must be on or off, not '$BATCHQ_UNITY_BUILD'" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir" "${target[@]}" >&2
echo "$dir"

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# first the normal build (CUDA included when nvcc is found; GPU tests skip without a
# device), then the ASan+UBSan build (clang-19), whose tests include each libFuzzer
# target run for a bounded time over its seed corpus. Usage: scripts/test.sh [--quick]
#   --quick   normal build only (for iterating; CI runs the full script)
# Each stage's time goes to the log, so CI's own runs show where its time goes.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite tests what it builds here, never a prebuilt folder (scripts/build.sh).
unset BATCHQ_BIN_DIR
start=$SECONDS
scripts/deps.sh
echo "== dependencies in $((SECONDS - start)) s" >&2
# Tests twice the cores: about half the suite's time is spent waiting on the processes
# and sockets it starts (on 2 cores: 248 CPU-s in 235 s at -j2; -j4 took 157 s).
# BATCHQ_TEST_JOBS sets another number.
jobs=${BATCHQ_TEST_JOBS:-$((2 * $(nproc)))}

# build [build.sh flag]: builds, and sets built to the build folder. (Not called inside
# $(...), where a failed build would not stop the script.)
build() {
  local start=$SECONDS
  built=$(scripts/build.sh "$@")
  echo "== built $built in $((SECONDS - start)) s" >&2
}

# run_ctest DIR [ctest flags]
run_ctest() {
  local dir=$1 start=$SECONDS
  shift
  echo "== ctest in $dir $*" >&2
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "$@")
  echo "== ctest in $dir $* took $((SECONDS - start)) s" >&2
}

build
run_ctest "$built"
if [[ "${1:-}" != "--quick" ]]; then
  # clang's sanitizer runtimes name the source lines of a report with llvm-symbolizer.
  symbolizer=/usr/lib/llvm-19/bin/llvm-symbolizer
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:external_symbolizer_path=$symbolizer
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:external_symbolizer_path=$symbolizer
  build --sanitize
  run_ctest "$built"
fi
echo "== every stage done in $SECONDS s" >&2

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# first the normal build (CUDA included when nvcc is found; GPU tests skip without a
# device), then the ASan+UBSan build, then each libFuzzer target for a bounded time
# over its seed corpus (clang-19). Usage: scripts/test.sh [--quick]
#   --quick   normal build only (for iterating; CI runs the full script)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
jobs=$(nproc)

run_suite() {
  local dir
  dir=$(scripts/build.sh "$@")
  echo "== ctest in $dir" >&2
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
}

run_suite
if [[ "${1:-}" != "--quick" ]]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite --sanitize
  run_suite --fuzz
fi

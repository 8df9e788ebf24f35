#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# first the normal build (CUDA included when nvcc is found; GPU tests skip without a
# device), then the ASan+UBSan build, then each libFuzzer target for a bounded time
# over its seed corpus (clang-19). Usage: scripts/test.sh [--quick]
#   --quick   normal build only (for iterating; CI runs the full script)
# Each stage's time goes to the log, so CI's own runs show where its time goes.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
scripts/deps.sh
echo "== dependencies in $((SECONDS - start)) s" >&2
jobs=$(nproc)

# build [build.sh flag]: builds and prints the build folder.
build() {
  local dir start=$SECONDS
  dir=$(scripts/build.sh "$@")
  echo "== built $dir in $((SECONDS - start)) s" >&2
  echo "$dir"
}

# run_ctest DIR [ctest flags]
run_ctest() {
  local dir=$1 start=$SECONDS
  shift
  echo "== ctest in $dir $*" >&2
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "$@")
  echo "== ctest in $dir $* took $((SECONDS - start)) s" >&2
}

dir=$(build)
if [[ "${1:-}" == "--quick" ]]; then
  run_ctest "$dir"
  exit 0
fi
run_ctest "$dir" -LE compose

# The compose test (images built and a stack run under a private dockerd) shares
# nothing with the ASan build, and much of its time is downloads and waits, so it runs
# alongside that build. The build is niced: the stack runs as if alone.
compose_log=$(mktemp)
run_ctest "$dir" -L compose >"$compose_log" 2>&1 &
compose=$!

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan_dir=$(nice -n 10 scripts/build.sh --sanitize)
echo "== built $asan_dir (alongside the compose test) at $SECONDS s" >&2
compose_status=0
wait "$compose" || compose_status=$?
cat "$compose_log" >&2
rm -f "$compose_log"
if [[ $compose_status -ne 0 ]]; then
  echo "== the compose tests failed" >&2
  exit "$compose_status"
fi
run_ctest "$asan_dir"
run_ctest "$(build --fuzz)"
echo "== every stage done in $SECONDS s" >&2

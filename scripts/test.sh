#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# first the normal build (CUDA included when nvcc is found; GPU tests skip without a
# device), then the ASan+UBSan build, then each libFuzzer target for a bounded time
# over its seed corpus (clang-19). Usage: scripts/test.sh [--quick]
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
if [[ "${1:-}" == "--quick" ]]; then
  run_ctest "$built"
else
  # The compose stack test (label compose_stack) waits for most of its time: the base
  # image's download, the packages of its image build, its containers' start, a paced
  # load. It runs beside the rest of the suite and the ASan build, which fill those
  # waits. It shares nothing with them: its own dockerd, images and volumes, and it tests
  # the images it builds, not build/. Its log is shown when it ends.
  compose_log=$(mktemp)
  run_ctest "$built" -L compose_stack >"$compose_log" 2>&1 &
  compose_pid=$!
  # Whatever stops this script first, the compose test ends before it does (its own
  # trap stops its dockerd and removes what it made).
  trap 'wait' EXIT
  run_ctest "$built" -LE compose_stack
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  build --sanitize
  compose_rc=0
  wait "$compose_pid" || compose_rc=$?
  cat "$compose_log" >&2
  rm -f "$compose_log"
  [[ $compose_rc -eq 0 ]] || { echo "== the compose stack test failed" >&2; exit "$compose_rc"; }
  run_ctest "$built"
  build --fuzz
  run_ctest "$built"
fi
echo "== every stage done in $SECONDS s" >&2

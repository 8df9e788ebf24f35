#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# first the normal build's tests (CUDA included when nvcc is found; GPU tests skip without
# a device), then the ASan+UBSan build's (clang-19, compiled beside the first at the lowest
# priority), which include each libFuzzer target run for a bounded time over its seed
# corpus. Usage: scripts/test.sh [--quick]
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

# build: the normal build; sets built to its folder. (Not called inside $(...), where a
# failed build would not stop the script.)
build() {
  local start=$SECONDS
  built=$(scripts/build.sh)
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

# The ASan+UBSan build compiles beside the normal build and its tests, at the lowest CPU
# priority, so it takes only what they leave idle (the builds' last steps, the tests'
# waits on the processes they start, the compose test alone at the end) and they run as
# fast as alone. It is its own process group, so that a failure before it is waited for
# stops it; its log is printed when it is.
full=false
[[ "${1:-}" != "--quick" ]] && full=true
if $full; then
  beside_start=$SECONDS
  beside_log=$(mktemp)
  set -m
  nice -n 19 scripts/build.sh --sanitize >"$beside_log.dir" 2>"$beside_log" &
  beside_pid=$!
  set +m
  trap 'kill -- "-$beside_pid" 2>/dev/null || true; rm -f "$beside_log" "$beside_log.dir"' EXIT
fi
build
run_ctest "$built"
if $full; then
  waited=$SECONDS
  beside_rc=0
  wait "$beside_pid" || beside_rc=$?
  cat "$beside_log" >&2
  ((beside_rc == 0)) || { echo "== the ASan+UBSan build failed" >&2; exit "$beside_rc"; }
  built=$(cat "$beside_log.dir")
  echo "== built $built beside the rest in $((SECONDS - beside_start)) s, the last" \
    "$((SECONDS - waited)) s of them alone" >&2
  # clang's sanitizer runtimes name the source lines of a report with llvm-symbolizer.
  symbolizer=/usr/lib/llvm-19/bin/llvm-symbolizer
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:external_symbolizer_path=$symbolizer
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:external_symbolizer_path=$symbolizer
  run_ctest "$built"
fi
echo "== every stage done in $SECONDS s" >&2

#!/usr/bin/env bash
# Where the whole stack's CPU goes at full speed: the closed loop of bench/submit_bench
# (64 connections, each job submitted then long-polled) against BUILD_DIR's gateway,
# sampled across the machine by `perf record -e cpu-clock` (a software clock, so it
# works in virtual machines without a PMU). Prints the share of every thread name, then
# the gateway's and Redis's hottest symbols. Complements bench/gateway_profile.sh,
# whose callgrind slows the gateway fifty times and so shrinks its group commits.
#   bench/stack_profile.sh [--seconds N] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
if [[ ${1:-} == --seconds ]]; then seconds=$2; shift 2; fi
build=${1:-build}
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Enough jobs that the load outlasts the sampling; the first rounds warm up.
"$build/bench/submit_bench" --closed-loop --gateway "now=$build/gateway/gateway" --rounds 3 \
  --count $((seconds * 6000)) >"$tmp/bench.jsonl" 2>"$tmp/bench.log" &
bench=$!
sleep 6
perf record -a -e cpu-clock -F 999 -o "$tmp/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$bench"
# The first N lines of a report; sed reads to the end, so that no pipe breaks early.
report() {
  local lines=$1
  shift
  perf report -i "$tmp/perf.data" --stdio "$@" 2>/dev/null | { grep -v -e '^#' -e '^$' || true; } |
    sed -n "1,${lines}p"
}
echo "== share of the machine by thread name (2 cores = 100%)"
report 20 --sort comm
# Shares of those threads' own samples. In a virtual machine the kernel's samples taken
# while interrupts were off land where they are turned on again (pvm_irq_enable, say).
echo "== the gateway's threads: hottest symbols, % of their samples"
report 25 --percentage relative --comms gateway,group-commit,broker-link,done-listener,record-check --sort dso,sym
echo "== redis-server: hottest symbols, % of its samples (its Lua is stripped: unnamed addresses)"
report 15 --percentage relative --comms redis-server --sort dso,sym
echo "== the bench's rounds"
grep -o -e '"end_to_end_jobs_per_s": *[0-9.]*' -e '"mean_batch_size": *[0-9.]*' "$tmp/bench.jsonl" |
  paste - - || true

#!/usr/bin/env bash
# System calls per job, thread by thread, across the stack: start_stack of
# bench/stack_processes.sh, then the `?wait_ms` loop of `batchq bench` (64 connections),
# and in its middle `perf stat -e raw_syscalls:sys_enter --per-thread` on the gateway,
# Redis, the broker and both workers. Jobs in the window are counted by Redis's DBSIZE
# (one record key a job). Counts, not times: they hold on a noisy machine.
#   bench/syscall_census.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 2; }
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
build=${1:-build} window=${2:-4}
start_stack "$build"
loop() { run_wait_loop "$build" "$1" >/dev/null 2>&1; }
loop 5000  # warm-up
# Long enough to outlast the window at ~15,000 jobs/s.
loop $((15000 * (window + 4))) &
load=$!
sleep 2
keys_before=$(redis-cli -p "$redis_port" dbsize)
perf stat -e raw_syscalls:sys_enter --per-thread -x, -o "$tmp/stat" \
  -p "$gateway_pid,$redis_pid,$broker_pid,${worker_pids[0]},${worker_pids[1]}" -- sleep "$window"
jobs=$(($(redis-cli -p "$redis_port" dbsize) - keys_before))
kill "$load" 2>/dev/null || true
echo "jobs in the ${window} s window: $jobs"
echo "thread calls calls_per_job"
awk -F, -v jobs="$jobs" '$2 ~ /^[0-9]+$/ && $2 > 0 {
    printf "%s %d %.2f\n", $1, $2, $2 / jobs; total += $2
  } END {printf "all %d %.2f\n", total, total / jobs}' "$tmp/stat" | sort -k2 -n -r

#!/usr/bin/env bash
# What each gateway costs for the jobs of the others: every gateway hears every job's
# ending (DESIGN.md's completion notices). start_stack of bench/stack_processes.sh plus
# EXTRA gateways on the same Redis and broker that get no request; then the `?wait_ms`
# loop of `batchq bench` (COUNT jobs, 64 connections) through the first gateway. Prints
# the CPU (user + system, from /proc) of each gateway and of Redis over the loop, per job.
# An idle gateway's figure includes its own idle polls (bench/idle_stack.sh).
#   bench/gateway_fanout.sh [--extra N] [--count N] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
extra=2 count=40000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --extra) extra=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    *) break ;;
  esac
done
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
build=${1:-build}
start_stack "$build"
idle=()
for ((i = 1; i <= extra; i++)); do
  start_gateway "$build" "$(free_port)" "$i"
  idle+=("$started_gateway_pid")
done
loop() { run_wait_loop "$build" "$1" 2>&1; }
loop 5000 >/dev/null  # warm-up
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
watched=("$gateway_pid" "${idle[@]}" "$redis_pid")
declare -A before
for p in "${watched[@]}"; do before[$p]=$(cpu "$p"); done
loop "$count" | grep "end-to-end"
for p in "${watched[@]}"; do
  who="idle gateway"
  [[ $p == "$gateway_pid" ]] && who="loaded gateway"
  [[ $p == "$redis_pid" ]] && who="redis"
  awk -v who="$who" -v t="$(($(cpu "$p") - before[$p]))" -v hz="$ticks" -v n="$count" \
    'BEGIN {printf "%s %.1f µs/job\n", who, t / hz / n * 1e6}'
done

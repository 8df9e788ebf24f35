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
  port=$(free_port)
  "$build/gateway/gateway" --redis-url "redis://127.0.0.1:$redis_port" \
    --broker "tcp://127.0.0.1:$front" --port "$port" --admin-key-file "$tmp/api-key$i" \
    --curve-secret-file "$k/gateway.key" --broker-public-key-file "$k/broker.pub" \
    >"$tmp/gateway$i.log" 2>&1 &
  idle+=($!)
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
loop() {
  "$build/cli/batchq" --url "http://127.0.0.1:$http" bench --type upper --input '"x"' \
    --count "$1" --connections 64 --submit-wait-ms 30000 2>&1
}
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

#!/usr/bin/env bash
# What an idle stack costs: start_stack of bench/stack_processes.sh (keys and CURVE on,
# two workers, one gateway) with no load, then, over a window, each thread's wake-ups
# (voluntary and involuntary context switches) and CPU per second, from /proc, and the
# commands Redis ran per second (INFO commandstats). Every gateway and worker of a
# deployment pays its share of these for as long as it runs, so they grow with the hosts.
#   bench/idle_stack.sh [BUILD_DIR] [SECONDS]   # BUILD_DIR holds broker/, gateway/,
#                                              # gpu_worker/ and cli/ (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
build=${1:-build} window=${2:-10}
start_stack "$build"
sleep 3  # past the start's own traffic

# PID TID NAME SWITCHES CPU_TICKS, one line per thread of each process given.
threads() {
  local pid task name switches stat
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      name=$(cat "$task/comm")
      switches=$(awk '/ctxt_switches/ {n += $2} END {print n}' "$task/status")
      read -r -a stat <<<"$(cut -d' ' -f14,15 "$task/stat")"
      echo "$pid ${task##*/} $name $switches $((stat[0] + stat[1]))"
    done
  done
}
processes=("$gateway_pid" "$broker_pid" "$redis_pid" "${worker_pids[@]}")
redis-cli -p "$redis_port" config resetstat >/dev/null
threads "${processes[@]}" >"$tmp/before"
sleep "$window"
threads "${processes[@]}" >"$tmp/after"
commands=$(redis-cli -p "$redis_port" info commandstats)

ticks=$(getconf CLK_TCK)
echo "process thread wake-ups/s cpu_ms/s (over ${window} s)"
join <(awk '{print $1 "/" $2, $3, $4, $5}' "$tmp/before" | sort) \
  <(awk '{print $1 "/" $2, $4, $5}' "$tmp/after" | sort) |
  awk -v s="$window" -v t="$ticks" -v g="$gateway_pid" -v b="$broker_pid" -v r="$redis_pid" '{
    split($1, id, "/")
    who = id[1] == g ? "gateway" : id[1] == b ? "broker" : id[1] == r ? "redis" : "worker"
    printf "%s %s %.1f %.1f\n", who, $2, ($5 - $3) / s, ($6 - $4) * 1000 / t / s
  }' | sort
echo "redis command calls/s (over ${window} s)"
echo "$commands" | tr ',' ' ' | awk -F'[:= ]' -v s="$window" \
  '/^cmdstat_/ && $1 != "cmdstat_config|resetstat" {printf "%s %.1f\n", substr($1, 9), $3 / s}'

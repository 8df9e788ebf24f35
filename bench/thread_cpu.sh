#!/usr/bin/env bash
# CPU per job of every thread of the stack at full speed, user and system apart: a
# redis-server, a broker (`upper` batched up to 64 within 2 ms), two CPU workers and a
# gateway, keys and CURVE on, on free loopback ports (as bench/redis_command_sources.sh),
# under `batchq bench --closed-loop` on 64 connections. Each thread's utime and stime
# come from /proc/PID/task/TID/stat before and after the run (clock ticks: a thread's
# figure is good to about 10 ms over the run). Prints the threads with at least 0.5 µs a
# job, grouped by process and thread name, then each process's total. --wait submits
# each job with `?wait_ms` instead (one round trip a job, no long-poll).
#   bench/thread_cpu.sh [--count N] [--wait] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
count=40000
wait_loop=false
if [[ ${1:-} == --count ]]; then count=$2; shift 2; fi
if [[ ${1:-} == --wait ]]; then wait_loop=true; shift; fi
build=${1:-build}
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
start_stack "$build"
# PID, thread name, utime, stime (ticks) of every thread of the stack. A name may hold
# spaces: they become '_', and the stat fields are counted after its closing ')'.
snap() {
  local p t
  for p in "$redis_pid" "$broker_pid" "${worker_pids[@]}" "$gateway_pid"; do
    for t in /proc/"$p"/task/*; do
      echo "$p $(tr ' ' _ <"$t/comm") $(sed 's/.*) //' "$t/stat" | awk '{print $12, $13}')"
    done
  done
}
snap > "$tmp/before"
if $wait_loop; then
  run_wait_loop "$build" "$count" 2>&1 | grep '^submitted=' >&2
else
  run_closed_loop "$build" "$count"
fi
snap > "$tmp/after"
python3 - "$tmp/before" "$tmp/after" "$count" "$redis_pid" "$broker_pid" "${worker_pids[@]}" \
  "$gateway_pid" <<'PY'
import collections, os, sys
before, after, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
process = dict(zip(sys.argv[4:], ["redis", "broker", "worker", "worker", "gateway"]))
hz = os.sysconf("SC_CLK_TCK")

def load(path):
    ticks = collections.defaultdict(lambda: [0, 0])
    for line in open(path):
        pid, thread, user, system = line.split()
        ticks[(process[pid], thread)][0] += int(user)
        ticks[(process[pid], thread)][1] += int(system)
    return ticks

old, new = load(before), load(after)
totals = collections.defaultdict(lambda: [0.0, 0.0])
for key in sorted(new):
    user, system = ((new[key][i] - old[key][i]) / hz * 1e6 / jobs for i in (0, 1))
    totals[key[0]][0] += user
    totals[key[0]][1] += system
    if user + system >= 0.5:
        print(f"{key[0]:8} {key[1]:16} user {user:6.1f}  system {system:6.1f}  µs per job")
for name, (user, system) in totals.items():
    print(f"{name:8} {'(all threads)':16} user {user:6.1f}  system {system:6.1f}  µs per job")
PY

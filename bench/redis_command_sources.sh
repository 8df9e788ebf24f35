#!/usr/bin/env bash
# Redis commands per job by where they come from: sent by a client (the gateway's group
# commit, the broker, the workers; MULTI/EXEC and the commands inside it, EVALSHA itself)
# or run by a script (`redis.call` inside EVALSHA). INFO commandstats counts both alike;
# Redis's MONITOR marks the second kind "lua". Starts redis-server, a broker (`upper`
# batched up to 64 within 2 ms, as in bench/submit_bench.cpp), two CPU workers and a
# gateway, keys and CURVE on, on free loopback ports; MONITORs Redis while `batchq
# bench --closed-loop` sends COUNT jobs on 64 connections (each submitted, then
# long-polled), and prints one JSON line: per job, the commands of each kind and the
# most frequent commands of each. MONITOR slows Redis, and so the run: count commands
# with it, never time.
#   bench/redis_command_sources.sh [--count N] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
count=20000
if [[ ${1:-} == --count ]]; then count=$2; shift 2; fi
build=${1:-build}
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
start_stack "$build"
redis-cli -p "$redis_port" monitor >"$tmp/monitor.txt" &
monitor=$!
pids+=("$monitor")
sleep 0.5
run_closed_loop "$build" "$count"
sleep 0.5
kill "$monitor"
# A MONITOR line: `<time> [<db> <client address or "lua">] "<COMMAND>" ...`. The
# processes' own background commands (heartbeats, leases, the broker's scans) are
# counted too: they are part of what Redis does while the jobs run.
python3 - "$tmp/monitor.txt" "$count" <<'PY'
import collections, json, sys
path, jobs = sys.argv[1], int(sys.argv[2])
kinds = {"client": collections.Counter(), "script": collections.Counter()}
with open(path, errors="replace") as f:
    for line in f:
        head, _, rest = line.partition("] ")
        if not rest.startswith('"'):
            continue
        command = rest[1:rest.index('"', 1)].lower()
        kinds["script" if head.endswith(" lua") else "client"][command] += 1
out = {"jobs": jobs}
for kind, counter in kinds.items():
    out[kind + "_per_job"] = round(sum(counter.values()) / jobs, 2)
    out[kind + "_top"] = {c: round(n / jobs, 2) for c, n in counter.most_common(10)}
print(json.dumps(out))
PY

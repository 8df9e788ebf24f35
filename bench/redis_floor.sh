#!/usr/bin/env bash
# Redis's floor per job: the CPU a redis-server spends on the plain commands that every
# job's record needs in this design, with nothing else: no Lua, no MULTI/EXEC, no
# accounts, lists, pending set or PUBLISH. Per job, as the stack sends them (their
# fields and sizes copied from a real `upper` job's, MONITOR):
#   create   HSET of the 13 creation pairs
#   finish   HMGET of the 21 fields the fenced ending reads, HSET of its 7 pairs, EXPIRE
# sent by `redis-cli --pipe` in groups of GROUP jobs (all creates, then all finishes),
# the cheapest way Redis can take them. Prints one JSON line per round: Redis's CPU
# (user + system, /proc) per job, and per command.
#   bench/redis_floor.sh [--jobs N] [--group G] [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=50000 group=64 rounds=3
while [[ ${1:-} == --* ]]; do
  case $1 in
    --jobs) jobs=$2 ;;
    --group) group=$2 ;;
    --rounds) rounds=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
port=$(free_port)
# As the submit bench's stack runs it: no snapshots, no AOF.
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
  >"$tmp/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

# The commands of `jobs` jobs in RESP; each round writes other keys.
python3 - "$jobs" "$group" "$rounds" "$tmp" <<'PY'
import sys
jobs, group, rounds, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def resp(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)

read = ["status", "attempts", "id", "tenant", "storage", "type", "callback_url", "priority",
        "created_us", "dispatched_us", "started_us", "batch", "batch_size", "close_reason",
        "worker", "timeout_ms", "cancelled_by", "max_retries", "retries", "retry_at_us",
        "history"]
for r in range(rounds):
    with open(f"{out}/round{r}.resp", "wb") as f:
        for first in range(0, jobs, group):
            ids = [f"{r:02d}{j:030x}" for j in range(first, min(first + group, jobs))]
            for i in ids:
                f.write(resp("HSET", "bq:job:" + i, "id", i, "type", "upper", "tenant", "bench",
                             "priority", 0, "input", '"x"', "created_us", 1796523696793443,
                             "timeout_ms", 0, "max_retries", 0, "retry_backoff_ms", 1000,
                             "status", "queued", "attempts", 0, "storage", "29946382 653"))
            for i in ids:
                f.write(resp("HMGET", "bq:job:" + i, *read))
                f.write(resp("HSET", "bq:job:" + i, "finished_us", 1796523696798573, "status",
                             "succeeded", "launched_us", 1796523696798344, "result", '"X"',
                             "error_code", "", "error_message", "", "storage", "29943502 681"))
                f.write(resp("EXPIRE", "bq:job:" + i, 86400))
PY

cpu() { sed 's/.*) //' "/proc/$redis_pid/stat" | awk '{print $12 + $13}'; }
hz=$(getconf CLK_TCK)
for r in $(seq 0 $((rounds - 1))); do
  before=$(cpu)
  redis-cli -p "$port" --pipe <"$tmp/round$r.resp" >"$tmp/pipe.log"
  after=$(cpu)
  grep -q "errors: 0," "$tmp/pipe.log" || { cat "$tmp/pipe.log" >&2; exit 1; }
  python3 -c '
import json, sys
ticks, hz, jobs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
us = ticks / hz * 1e6 / jobs
print(json.dumps({"round": int(sys.argv[4]) + 1, "jobs": jobs, "commands_per_job": 4,
                  "redis_us_per_job": round(us, 2), "redis_us_per_command": round(us / 4, 2)}))
' "$((after - before))" "$hz" "$jobs" "$r"
done

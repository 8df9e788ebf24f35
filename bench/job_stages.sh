#!/usr/bin/env bash
# Where a job's time goes: runs a fresh local stack (scripts/run.sh, keys and CURVE on,
# 2 workers, `upper` with its default settings) in a directory of its own, an open loop
# of `batchq bench` against it, and then reads every job's timeline from Redis:
# created -> dispatched (gateway, Redis, broker) -> started (the worker's claim) ->
# launched (the handler) -> finished (its results written). Prints p50/p90/p99 of each
# stage in µs, one line of JSON. Stops the stack and removes its directory at the end.
#
#   bench/job_stages.sh [--worker PATH] [--rate 1000] [--count 8000] [--connections 8]
#
# --worker runs another worker binary (e.g. an older build's), to compare worker paths.
set -euo pipefail
cd "$(dirname "$0")/.."
worker="" rate=1000 count=8000 connections=8
while [[ $# -gt 0 ]]; do
  case "$1" in
    --worker) worker=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dir=$(mktemp -d /tmp/batchq-stages.XXXXXX)
export BATCHQ_RUN_DIR=$dir
[[ -n "$worker" ]] && export BATCHQ_WORKER_BIN=$worker
cleanup() { scripts/run.sh --stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
port=18480
while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
scripts/run.sh --port "$port" --workers 2 --detach >"$dir/run.out" 2>&1
bin=$(scripts/build.sh)
BATCHQ_API_KEY=$(cat "$dir/api-key") "$bin/cli/batchq" --url "http://127.0.0.1:$port" \
  --output json bench --rate "$rate" --count "$count" --connections "$connections" >"$dir/bench.json"
export REDISCLI_AUTH
REDISCLI_AUTH=$(cat "$dir/redis-users/admin.password")
redis_port=$(cat "$dir/redis.port")
redis-cli -p "$redis_port" --scan --pattern 'bq:job:*' | grep -v ':blob$' |
  awk '{print "HMGET", $1, "created_us dispatched_us started_us launched_us finished_us"}' |
  redis-cli -p "$redis_port" >"$dir/timelines.txt"
python3 - "$dir/timelines.txt" "$dir/bench.json" <<'PY'
import json, sys
lines = [l.strip() for l in open(sys.argv[1])]
stages = {"created_dispatched": [], "dispatched_started": [], "started_launched": [],
          "launched_finished": [], "dispatched_finished": [], "created_finished": []}
for i in range(0, len(lines) - 4, 5):
    try:
        c, d, s, l, f = (int(x) for x in lines[i:i + 5])
    except ValueError:
        continue  # a job without a full timeline (none is expected)
    for name, value in (("created_dispatched", d - c), ("dispatched_started", s - d),
                        ("started_launched", l - s), ("launched_finished", f - l),
                        ("dispatched_finished", f - d), ("created_finished", f - c)):
        stages[name].append(value)
def pct(xs, p):
    xs = sorted(xs)
    return xs[int(p * (len(xs) - 1))] if xs else None
bench = json.load(open(sys.argv[2]))
out = {"jobs": len(stages["created_finished"]), "succeeded": bench.get("succeeded")}
for name, xs in stages.items():
    out[name] = {"p50": pct(xs, .5), "p90": pct(xs, .9), "p99": pct(xs, .99)}
print(json.dumps(out))
PY

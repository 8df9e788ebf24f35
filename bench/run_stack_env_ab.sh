#!/usr/bin/env bash
# A/B of one setting on the stack users run: scripts/run.sh (keys, CURVE, Redis ACLs, 2 CPU
# workers) on a redis-server of its own, started with VAR=A on one side and VAR=B on the
# other (any BATCHQ_* variable a process reads), alternating which side goes first.
# Per side and round: a fresh stack, then `batchq bench --closed-loop` of COUNT `upper`
# jobs on 64 connections. Prints one JSON line per run: jobs/s, each process's CPU per
# job (/proc/PID/stat), Redis commands per job (INFO commandstats) and HGETALLs, and
# the gateway's reads answered from kept endings.
#
#   bench/run_stack_env_ab.sh VAR A B [ROUNDS] [COUNT]
#   e.g. bench/run_stack_env_ab.sh BATCHQ_ENDED_HOLD_MS 0 1000 3 40000
set -euo pipefail
cd "$(dirname "$0")/.."
var=$1 a=$2 b=$3 rounds=${4:-3} count=${5:-40000}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
http=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --logfile /dev/null
cleanup() {
  scripts/run.sh --stop >/dev/null 2>&1 || true
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_sum() {
  local total=0
  for pid in "$@"; do total=$((total + $(ticks "$pid"))); done
  echo "$total"
}
calls() { redis-cli -p "$port" info commandstats | grep "^cmdstat_$1:" | sed 's/.*:calls=\([0-9]*\),.*/\1/'; }
hz=$(getconf CLK_TCK)
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then order="$a $b"; else order="$b $a"; fi
  for value in $order; do
    scripts/run.sh --stop >/dev/null 2>&1 || true
    redis-cli -p "$port" flushall >/dev/null
    env "$var=$value" scripts/run.sh --port "$http" --workers 2 --backend cpu \
      --redis-url "redis://127.0.0.1:$port" --detach >/dev/null 2>&1
    for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$http/readyz" >/dev/null && break; sleep 0.5; done
    key=$(cat .run/api-key)
    gateway=$(pgrep -f "build/gateway/gateway.*--port $http" | head -1)
    broker=$(pgrep -f "build/broker/broker" | head -1)
    mapfile -t workers < <(pgrep -f "build/gpu_worker/gpu_worker")
    redis=$(pgrep -f "redis-server 127.0.0.1:$port")
    redis-cli -p "$port" config resetstat >/dev/null
    before=("$(ticks "$gateway")" "$(ticks "$redis")" "$(ticks "$broker")" "$(ticks_sum "${workers[@]}")")
    report=$(BATCHQ_API_KEY=$key build/cli/batchq --url "http://127.0.0.1:$http" --output json bench \
      --type upper --input '"x"' --count "$count" --connections 64 --closed-loop 2>/dev/null | tail -1)
    after=("$(ticks "$gateway")" "$(ticks "$redis")" "$(ticks "$broker")" "$(ticks_sum "${workers[@]}")")
    all_calls=$(redis-cli -p "$port" info commandstats | grep '^cmdstat_' |
      grep -v '^cmdstat_info:\|^cmdstat_config' | sed 's/.*:calls=\([0-9]*\),.*/\1/' | paste -sd+ | bc)
    kept=$(curl -fs "http://127.0.0.1:$http/metrics" -H "Authorization: Bearer $key" |
      awk '/^batchq_gateway_reads_from_endings_total/ {print $2}')
    python3 - "$var" "$value" "$r" "$count" "$hz" "$report" "$all_calls" "$(calls hgetall)" \
      "${kept:-0}" "${before[@]}" "${after[@]}" <<'PY'
import json, sys
var, value, r, count, hz, report, all_calls, hgetall, kept = sys.argv[1:10]
before, after = list(map(int, sys.argv[10:14])), list(map(int, sys.argv[14:18]))
count, hz = int(count), int(hz)
us = [round((a - b) / hz / count * 1e6, 1) for a, b in zip(after, before)]
print(json.dumps({
    var: value, "round": int(r), "jobs_per_s": round(json.loads(report)["end_to_end_jobs_per_s"]),
    "us_per_job": dict(zip(["gateway", "redis", "broker", "workers"], us)),
    "redis_commands_per_job": round(int(all_calls) / count, 2), "hgetall": int(hgetall or 0),
    "reads_from_endings": int(float(kept))}))
PY
  done
done

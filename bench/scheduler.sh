#!/usr/bin/env bash
# Scheduler benchmark with real processes: redis-server, broker, gateway and 2 CPU
# workers running the `sleep` cost model (2 ms + 50 µs per item), max_batch_size 32,
# max_delay 5 ms. Sweeps the offered load from 10% to 110% of the ideal throughput
# (workers × max_batch / (fixed + per_item × max_batch) = 17,778 jobs/s), once with the
# fixed-delay policy and once with adaptive waiting, and writes JSON lines and a plot.
# Loopback only; every load is bounded by a job count.
#
#   bench/scheduler.sh [--out DIR] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/bench
seconds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
scripts/deps.sh --with-bench
bin="$(pwd)/$(scripts/build.sh)"
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh

# CURVE on between the processes, as deployed.
scripts/make_keys.sh "$tmp/keys" "$bin/cli/batchq"
k="$tmp/keys"

ideal=17778
results="$out/scheduler.jsonl"
: >"$results"

for mode in fixed adaptive; do
  adaptive=$([[ $mode == adaptive ]] && echo 1 || echo 0)
  redis_port=$(free_port); fe=$(free_port); be=$(free_port); http=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$tmp" \
    >"$tmp/redis.log" 2>&1 & pids+=($!)
  sleep 0.3
  "$bin/broker/broker" --redis-url "redis://127.0.0.1:$redis_port" \
    --frontend "tcp://127.0.0.1:$fe" --backend "tcp://127.0.0.1:$be" \
    --curve-secret-file "$k/broker.key" --gateway-keys "$k/gateways" --worker-keys "$k/workers" \
    --type "sleep:max_batch_size=32,max_delay_ms=5,adaptive=$adaptive" >"$tmp/broker.log" 2>&1 & pids+=($!)
  "$bin/gateway/gateway" --redis-url "redis://127.0.0.1:$redis_port" --broker "tcp://127.0.0.1:$fe" \
    --curve-secret-file "$k/gateway.key" --broker-public-key-file "$k/broker.pub" \
    --port "$http" --admin-key-file "$tmp/api-key" >"$tmp/gateway.log" 2>&1 & pids+=($!)
  for w in 1 2; do
    "$bin/gpu_worker/gpu_worker" --redis-url "redis://127.0.0.1:$redis_port" \
      --broker "tcp://127.0.0.1:$be" --name "w$w" --type sleep --backend cpu \
      --curve-secret-file "$k/worker.key" --broker-public-key-file "$k/broker.pub" \
      >"$tmp/worker$w.log" 2>&1 & pids+=($!)
  done
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  BATCHQ_API_KEY=$(cat "$tmp/api-key")
  export BATCHQ_API_KEY
  # Warm-up: lets the broker learn the batch cost before measuring.
  "$bin/cli/batchq" --url "http://127.0.0.1:$http" bench --type sleep --input null \
    --count 4000 --rate 4000 --connections 2 --jobs-per-request 4 >/dev/null

  for load in 0.1 0.3 0.5 0.7 0.9 1.1; do
    rate=$(python3 -c "print(round($load * $ideal))")
    count=$(python3 -c "print(round($load * $ideal * $seconds))")
    # One job per request at light load (Poisson-like arrivals); small :batch requests
    # above, because one HTTP request per job cannot offer 17k jobs/s on 2 cores.
    per_request=$(python3 -c "print(1 if $load <= 0.15 else (4 if $load <= 0.35 else 8))")
    line=$("$bin/cli/batchq" --output json --url "http://127.0.0.1:$http" bench --type sleep \
      --input null --count "$count" --rate "$rate" --connections 4 --jobs-per-request "$per_request")
    echo "{\"mode\":\"$mode\",\"load\":$load,\"offered_per_s\":$rate,\"ideal_per_s\":$ideal,${line:1}" | tee -a "$results"
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done

/usr/bin/python3 bench/plot_scheduler.py "$results" "$out/scheduler.png"
echo "wrote $results and $out/scheduler.png"

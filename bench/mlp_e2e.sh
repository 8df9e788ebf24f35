#!/usr/bin/env bash
# `mlp` end to end through gateway, broker and one worker, with batching off
# (max_batch_size=1) and on (64): the batching win as a user sees it.
# Usage: bench/mlp_e2e.sh [--count N] [--backend cpu|cuda]. Prints one JSON line per row.
set -euo pipefail
cd "$(dirname "$0")/.."
count=3000
backend=cpu
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --backend) backend="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(scripts/build.sh)
port=18480
input=$(/usr/bin/python3 -c 'import random; random.seed(1); print([round(random.uniform(-1,1),4) for _ in range(256)])')
for max_batch in 1 64; do
  BATCHQ_TYPES="mlp:max_batch_size=${max_batch},max_delay_ms=2" BATCHQ_WORKER_TYPES=mlp \
    scripts/run.sh --detach --workers 1 --port "$port" --backend "$backend" >/dev/null
  bench/wait_for_worker.sh "$build/cli/batchq" "http://127.0.0.1:$port" mlp
  result=$(BATCHQ_API_KEY=$(cat .run/api-key 2>/dev/null || true) "$build/cli/batchq" --url "http://127.0.0.1:$port" --output json bench --type mlp \
    --input "$input" --count "$count" --connections 32 || true)
  scripts/run.sh --stop >/dev/null
  echo "{\"max_batch_size\":$max_batch,\"backend\":\"$backend\",\"report\":$result}"
done

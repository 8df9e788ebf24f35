#!/usr/bin/env bash
# The PyTorch example (examples/python/mlp_torch.py) through the whole stack (gateway,
# broker, one worker) at each max_batch_size of 1..64: the batching win for a Python
# model as a user sees it. `batchq bench` with --connections clients: as fast as they
# can (the throughput), or at --rate jobs/s (an open loop: the latency at that load).
# Usage: bench/python_batching.sh [--count N] [--connections N] [--rate N]
#                                 [--sizes "1 2 4 ..."] [--handler-config JSON]
# Prints one JSON line per max_batch_size (the bench report inside).
set -euo pipefail
cd "$(dirname "$0")/.."
count=3000
connections=64
rate=0
sizes="1 2 4 8 16 32 64"
# A model large enough that its matrix products, not Python, dominate a batch of one.
config='{"width":256,"hidden":1024,"out":64}'
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --handler-config) config="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(scripts/build.sh 2>/dev/null)
width=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("width", 16))' "$config")
input=$(/usr/bin/python3 -c 'import random,sys; random.seed(1); print([round(random.uniform(-1,1),4) for _ in range(int(sys.argv[1]))])' "$width")
port=18490
trap 'scripts/run.sh --stop >/dev/null 2>&1 || true' EXIT
for size in $sizes; do
  # Records kept 2 minutes, not a day: rounds after rounds would otherwise fill the
  # tenant's stored-bytes cap of the stack's Redis (kept in .run across runs) and get 429s.
  BATCHQ_RESULT_TTL_S=120 BATCHQ_MAX_BATCH_SIZE=$size BATCHQ_MAX_DELAY_US=2000 BATCHQ_WORKER_TYPES=upper \
    scripts/run.sh --detach --workers 1 --port "$port" \
    --python-handler embed=examples/python/mlp_torch.py --handler-config "$config" >/dev/null
  # The worker imports torch for a few seconds after the stack is up: the load waits for
  # it, or its first jobs would measure the start.
  bench/wait_for_worker.sh "$build/cli/batchq" "http://127.0.0.1:$port" embed
  result=$(BATCHQ_API_KEY=$(cat .run/api-key) "$build/cli/batchq" --url "http://127.0.0.1:$port" \
    --output json bench --type embed --input "$input" --count "$count" \
    --connections "$connections" --rate "$rate" || true)
  scripts/run.sh --stop >/dev/null
  echo "{\"max_batch_size\":$size,\"handler_config\":$config,\"report\":$result}"
done

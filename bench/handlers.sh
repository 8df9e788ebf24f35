#!/usr/bin/env bash
# Handler throughput against batch size for `mlp` and `render`, and the plot.
# Usage: bench/handlers.sh [--backend cpu|cuda] [--seconds S]
# Writes docs/bench/handlers_<backend>.jsonl and redraws docs/bench/handlers.png from
# every handlers_*.jsonl present (CPU here, CUDA from a GPU host).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=cpu
seconds=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
scripts/deps.sh --with-bench
build=$(scripts/build.sh)
batches=1,2,4,8,16,32,64,128
extra=()
# On the GPU, measure as the worker runs with 2 credits: next batch launched before
# the current one is collected.
[[ "$backend" == cuda ]] && batches=1,2,4,8,16,32,64,128,256,512 && extra=(--pipelined)
mkdir -p docs/bench
"$build/bench/handler_bench" --backend "$backend" --seconds "$seconds" --batches "$batches" \
  --types mlp,render "${extra[@]}" | tee "docs/bench/handlers_${backend}.jsonl"
/usr/bin/python3 bench/plot_handlers.py docs/bench/handlers.png docs/bench/handlers_*.jsonl
echo "plot: docs/bench/handlers.png" >&2

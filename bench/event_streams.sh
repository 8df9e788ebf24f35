#!/usr/bin/env bash
# Server-sent event streams on one gateway (bench/event_streams.py): for each count in
# --counts, a fresh local stack (scripts/run.sh, keys and CURVE on), that many streams
# open on GET /v1/events, the gateway's memory per stream, and the time until --jobs
# jobs' changes reached every stream.
# Usage: bench/event_streams.sh [--counts "1000 5000"] [--jobs N]
# Prints one JSON line per count.
set -euo pipefail
cd "$(dirname "$0")/.."
counts="1000 5000"
jobs=20
while [[ $# -gt 0 ]]; do
  case "$1" in
    --counts) counts="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(scripts/build.sh 2>/dev/null)
port=18491
trap 'scripts/run.sh --stop >/dev/null 2>&1 || true' EXIT
for count in $counts; do
  BATCHQ_RESULT_TTL_S=120 BATCHQ_MAX_EVENT_STREAMS=$((count + 100)) \
    BATCHQ_MAX_CONNECTIONS=$((count + 1000)) \
    scripts/run.sh --detach --workers 1 --port "$port" >/dev/null
  bench/wait_for_worker.sh "$build/cli/batchq" "http://127.0.0.1:$port" upper
  admin=$(cat .run/api-key)
  key=$(BATCHQ_API_KEY=$admin "$build/cli/batchq" --url "http://127.0.0.1:$port" --output json \
    keys create --tenant sse-bench --scopes submit,read | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  /usr/bin/python3 bench/event_streams.py --url "http://127.0.0.1:$port" --key "$key" \
    --admin-key "$admin" --gateway-pid "$(cat .run/gateway.pid)" --streams "$count" --jobs "$jobs"
  scripts/run.sh --stop >/dev/null
done

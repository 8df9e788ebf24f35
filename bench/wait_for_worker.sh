#!/usr/bin/env bash
# Waits (at most 60 s) until the local stack's broker lists a live worker for a type, so
# that a bench's first jobs do not measure a worker still starting (importing torch,
# loading weights). Usage: bench/wait_for_worker.sh BATCHQ_CLI URL TYPE
set -euo pipefail
cli=$1 url=$2 type=$3
cd "$(dirname "$0")/.."
for _ in $(seq 1 120); do
  workers=$(BATCHQ_API_KEY=$(cat .run/api-key) "$cli" --url "$url" --output json types |
    /usr/bin/python3 -c 'import json, sys
print(next((t["workers"] for t in json.load(sys.stdin)["types"] if t["name"] == sys.argv[1]), 0))' "$type")
  [[ $workers -ge 1 ]] && exit 0
  sleep 0.5
done
echo "no worker for $type after 60 s" >&2
exit 1

#!/usr/bin/env bash
# Webhook deliveries per second from one gateway (bench/webhooks.py): for each sender
# count in --senders, a fresh local stack (scripts/run.sh, keys and CURVE on,
# BATCHQ_WEBHOOK_ALLOW=127.0.0.1), a key with a webhook secret, --jobs jobs with a
# callback_url to a receiver on loopback that checks every signature.
# Usage: bench/webhooks.sh [--senders "2 8"] [--jobs N]
# Prints one JSON line per sender count.
set -euo pipefail
cd "$(dirname "$0")/.."
senders="2 8"
jobs=5000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --senders) senders="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(scripts/build.sh 2>/dev/null)
port=18493
trap 'scripts/run.sh --stop >/dev/null 2>&1 || true' EXIT
for count in $senders; do
  BATCHQ_WEBHOOK_ALLOW=127.0.0.1 BATCHQ_WEBHOOK_SENDERS=$count BATCHQ_RESULT_TTL_S=300 \
    scripts/run.sh --detach --workers 1 --port "$port" >/dev/null
  bench/wait_for_worker.sh "$build/cli/batchq" "http://127.0.0.1:$port" upper
  made=$(BATCHQ_API_KEY=$(cat .run/api-key) "$build/cli/batchq" --url "http://127.0.0.1:$port" \
    --output json keys create --tenant hooks-bench --scopes submit,read --webhook)
  key=$(echo "$made" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  secret=$(echo "$made" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["webhook_secret"])')
  # CPU seconds (user+system) of each process of the stack, read from /proc.
  cpu() {
    for f in .run/*.pid; do
      local name; name=$(basename "$f" .pid)
      awk -v n="$name" '{printf "%s=%.2f ", n, ($14 + $15) / 100}' "/proc/$(cat "$f")/stat"
    done
  }
  before=$(cpu)
  echo -n "{\"senders\":$count,\"result\":"
  PYTHONPATH=clients/python /usr/bin/python3 bench/webhooks.py --url "http://127.0.0.1:$port" \
    --key "$key" --verify-secret "$secret" --jobs "$jobs" | tr -d '\n'
  echo ",\"cpu_s_before\":\"$before\",\"cpu_s_after\":\"$(cpu)\"}"
  scripts/run.sh --stop >/dev/null
done

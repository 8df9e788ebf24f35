#!/usr/bin/env bash
# End-to-end benchmark on this machine, with a reference measured in the same run:
# wrk against nginx answering a static 202 JSON on loopback. Starts its own stack
# (scripts/run.sh --detach) on free loopback ports and stops it at the end.
# Every load is bounded in job count and time.
#
#   bench/e2e.sh [--count N] [--out FILE] [--auth keys|none]
# --auth none runs the gateway without API keys, to measure what keys cost.
set -euo pipefail
cd "$(dirname "$0")/.."
count=20000
out=""
auth=keys
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --auth) auth=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

scripts/deps.sh --with-bench
bin="$(pwd)/$(scripts/build.sh)"
cli="$bin/cli/batchq"
tmp=$(mktemp -d)
trap 'scripts/run.sh --stop >/dev/null 2>&1 || true; [[ -f $tmp/nginx.pid ]] && kill $(cat $tmp/nginx.pid) 2>/dev/null; rm -rf "$tmp"' EXIT

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=18400; while port_in_use $port; do port=$((port+1)); done
nginx_port=$((port+1)); while port_in_use $nginx_port; do nginx_port=$((nginx_port+1)); done

report() { echo "$@" | tee -a "${out:-/dev/null}"; }
[[ -n "$out" ]] && : >"$out"

report "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
report "# date: $(date -u +%Y-%m-%dT%H:%MZ)"

# Reference: nginx serving a static 202 JSON, one worker process, keep-alive.
cat >"$tmp/nginx.conf" <<NGX
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 202 '{"id":"0123456789abcdef0123456789abcdef","status":"queued"}'; }
  }
}
NGX
nginx -c "$tmp/nginx.conf" -p "$tmp"
sleep 0.3
report "## reference: wrk -t2 -c8 -d5s against nginx static 202 (POST)"
report "$(wrk -t2 -c8 -d5s -s <(printf 'wrk.method="POST"\nwrk.body="{\\"type\\":\\"upper\\",\\"input\\":\\"hello\\"}"\nwrk.headers["Content-Type"]="application/json"\n') "http://127.0.0.1:$nginx_port/v1/jobs" | grep -E 'Requests/sec|Latency')"
kill "$(cat "$tmp/nginx.pid")"; rm -f "$tmp/nginx.pid"

# Reference: Redis itself, the store every submit writes to.
redis_port=$((nginx_port+1)); while port_in_use $redis_port; do redis_port=$((redis_port+1)); done
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize yes \
  --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log"
sleep 0.3
report "## reference: redis-benchmark -c 8 -n 100000 (SET, HSET), no pipelining"
report "$(redis-benchmark -p "$redis_port" -q -c 8 -n 100000 -t set,hset | tr '\r' '\n' | grep -E 'requests per second' | tail -2)"
kill "$(cat "$tmp/redis.pid")"

scripts/run.sh --detach --port "$port" --workers 2 --auth "$auth" >/dev/null
report "## stack: scripts/run.sh --auth $auth"
url="http://127.0.0.1:$port"
# Keys on, as deployed: every request carries the admin key run.sh made.
BATCHQ_API_KEY=$(cat .run/api-key 2>/dev/null || true)
export BATCHQ_API_KEY

run() {  # title, bench args...
  local title=$1; shift
  report "## $title"
  report "\$ batchq bench $*"
  report "$("$cli" --url "$url" bench "$@")"
}

run "upper, as fast as possible, 8 connections" --type upper --count "$count" --connections 8
run "upper, :batch of 50, 4 connections" --type upper --count "$count" --connections 4 --jobs-per-request 50
run "upper, light load 200 jobs/s" --type upper --count 2000 --rate 200 --connections 2
run "sleep (2 ms + 50 us/item), as fast as possible" --type sleep --input null --count "$count" --connections 8
run "sleep, light load 100 jobs/s" --type sleep --input null --count 1000 --rate 100 --connections 2

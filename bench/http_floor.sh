#!/usr/bin/env bash
# The HTTP floor: CPU per request of the gateway on its cheapest answers, against nginx
# answering a static JSON body, through the same load generator (wrk) in the same run.
# What a job costs the gateway beyond this floor is batchq's own work; the floor itself
# is the kernel's TCP and the HTTP server's. Starts redis-server, a broker, one CPU worker,
# two gateways (keys and CURVE on, as deployed; the second with
# --max-in-flight-submit-jobs 1, so that nearly every submit it gets is refused) and nginx,
# all on free loopback ports, and prints one JSON line per target and round:
#   nginx-static   GET of a static 200 from nginx (one worker process)
#   healthz        GET /healthz
#   read-ended     GET /v1/jobs/{id} of a job that ended, with a tenant's key
#   refused-submit POST /v1/jobs past the bound: 503 overloaded, with a tenant's key
# server_us_per_request is the server process's CPU (utime + stime, /proc) over the run
# divided by the requests wrk counted; wrk_us_per_request the same for wrk.
#   bench/http_floor.sh [--rounds N] [--seconds S] [--connections C] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 seconds=5 connections=64
while [[ ${1:-} == --* ]]; do
  case $1 in
    --rounds) rounds=$2 ;;
    --seconds) seconds=$2 ;;
    --connections) connections=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
build=${1:-build}
# wrk's own CPU is read a second before it ends, so a run needs two seconds at least.
((seconds >= 2)) || { echo "--seconds must be at least 2" >&2; exit 2; }
for tool in wrk nginx redis-server; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
http=$(free_port) http_refusing=$(free_port) nginx_port=$(free_port)
start_redis_and_broker "$build"
"$build/gpu_worker/gpu_worker" --redis-url "redis://127.0.0.1:$redis_port" --backend cpu --type upper \
  --broker "tcp://127.0.0.1:$back" --curve-secret-file "$k/worker.key" \
  --broker-public-key-file "$k/broker.pub" >"$tmp/worker.log" 2>&1 &
pids+=($!)
start_gateway() {  # port, extra flags...
  local port=$1
  shift
  "$build/gateway/gateway" --redis-url "redis://127.0.0.1:$redis_port" --broker "tcp://127.0.0.1:$front" \
    --port "$port" --admin-key-file "$tmp/admin-key" --curve-secret-file "$k/gateway.key" \
    --broker-public-key-file "$k/broker.pub" "$@" >"$tmp/gateway-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "gateway on $port never became ready" >&2
  exit 1
}
start_gateway "$http"
gateway=${pids[-1]}
start_gateway "$http_refusing" --max-in-flight-submit-jobs 1
refusing=${pids[-1]}
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids+=($!)
nginx_master=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1 && break
  sleep 0.1
done
nginx_worker=$(pgrep -P "$nginx_master" | head -1)

key=$("$build/cli/batchq" --url "http://127.0.0.1:$http" --api-key-file "$tmp/admin-key" \
  keys create --tenant bench --scopes submit,read 2>/dev/null)
id=$(curl -fs -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"type":"upper","input":"x"}' "http://127.0.0.1:$http/v1/jobs?wait_ms=10000" |
  python3 -c 'import json,sys; job = json.load(sys.stdin); assert job["status"] == "succeeded"; print(job["id"])')
cat >"$tmp/submit.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"type":"upper","input":"hello"}'
wrk.headers["Content-Type"] = "application/json"
EOF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# target, server pid, url, wrk flags...
measure() {
  local target=$1 pid=$2 url=$3
  shift 3
  local before after out wrk_pid wrk_ticks
  before=$(cpu_ticks "$pid")
  wrk -t1 -c"$connections" -d"${seconds}s" "$@" "$url" >"$tmp/wrk.out" &
  wrk_pid=$!
  sleep "$((seconds - 1))"
  wrk_ticks=$(cpu_ticks "$wrk_pid")  # wrk's CPU over all but the last second
  wait "$wrk_pid"
  after=$(cpu_ticks "$pid")
  out=$(cat "$tmp/wrk.out")
  python3 - "$target" "$round" "$before" "$after" "$wrk_ticks" "$seconds" "$(getconf CLK_TCK)" <<PY
import re, sys, json
target, rnd, before, after, wrk_ticks, seconds, hz = sys.argv[1:]
out = """$out"""
requests = int(re.search(r"(\d+) requests in", out).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
tick_us = 1e6 / int(hz)
print(json.dumps({
    "target": target, "round": int(rnd), "requests": requests, "requests_per_s": round(rps),
    "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    "server_us_per_request": round((int(after) - int(before)) * tick_us / requests, 2),
    "wrk_us_per_request": round(int(wrk_ticks) * tick_us / (rps * (int(seconds) - 1)), 2),
}))
PY
}
auth=(-H "Authorization: Bearer $key")
for round in $(seq 1 "$rounds"); do
  measure nginx-static "$nginx_worker" "http://127.0.0.1:$nginx_port/"
  measure healthz "$gateway" "http://127.0.0.1:$http/healthz"
  measure read-ended "$gateway" "http://127.0.0.1:$http/v1/jobs/$id" "${auth[@]}"
  measure refused-submit "$refusing" "http://127.0.0.1:$http_refusing/v1/jobs" "${auth[@]}" \
    -s "$tmp/submit.lua"
done

#!/usr/bin/env bash
# Instruction counts of the gateway's request path under callgrind (repeatable on a
# noisy machine: instructions, not seconds). Starts redis-server, a broker, one CPU
# worker and the gateway under callgrind on free loopback ports, sends COUNT single
# submits with `batchq bench` (each then long-polled to its end), stops the gateway and
# prints the inclusive share of the functions named below.
#   bench/gateway_profile.sh [--count N] [--connections N] [--auth none] [--curve off] [--closed-loop] [BUILD_DIR]
# With --auth none the gateway runs without keys (loopback), to isolate their cost; with
# --curve off, plain ZeroMQ to the broker (loopback), to isolate CURVE's. With
# --closed-loop each connection long-polls its job before its next submit, as users
# do; without it every job is submitted first, and long-polled once all are. With the
# default 2 connections a group commit holds about one job under callgrind, which
# overstates what a group costs; more connections make the groups larger.
set -euo pipefail
cd "$(dirname "$0")/.."
count=3000
auth=keys
if [[ ${1:-} == --count ]]; then count=$2; shift 2; fi
connections=2
if [[ ${1:-} == --connections ]]; then connections=$2; shift 2; fi
if [[ ${1:-} == --auth ]]; then auth=$2; shift 2; fi
curve=on
if [[ ${1:-} == --curve ]]; then curve=$2; shift 2; fi
loop=()
if [[ ${1:-} == --closed-loop ]]; then loop=(--closed-loop); shift; fi
build=${1:-build}
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 2; }
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
redis_port=$(free_port) front=$(free_port) back=$(free_port) http=$(free_port)

# CURVE on between the processes, as deployed.
scripts/make_keys.sh "$tmp/keys" "$build/cli/batchq"
k="$tmp/keys"
server_curve=(--curve-secret-file "$k/broker.key" --gateway-keys "$k/gateways" --worker-keys "$k/workers")
client_curve() { echo "--curve-secret-file $k/$1.key --broker-public-key-file $k/broker.pub"; }
if [[ $curve == off ]]; then
  server_curve=(--no-curve)
  client_curve() { echo "--no-curve"; }
fi
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
"$build/broker/broker" --redis-url "redis://127.0.0.1:$redis_port" --frontend "tcp://127.0.0.1:$front" \
  --backend "tcp://127.0.0.1:$back" "${server_curve[@]}" >"$tmp/broker.log" 2>&1 &
pids+=($!)
"$build/gpu_worker/gpu_worker" --redis-url "redis://127.0.0.1:$redis_port" --backend cpu --type upper \
  --broker "tcp://127.0.0.1:$back" $(client_curve worker) >"$tmp/worker.log" 2>&1 &
pids+=($!)
valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" "$build/gateway/gateway" \
  --redis-url "redis://127.0.0.1:$redis_port" --broker "tcp://127.0.0.1:$front" --port "$http" \
  --threads 1 --auth "$auth" --admin-key-file "$tmp/api-key" $(client_curve gateway) \
  >"$tmp/gateway.log" 2>&1 &
gateway=$!
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# A tenant's key, as clients use: its record comes from Redis through the key cache.
if [[ $auth == keys ]]; then
  BATCHQ_API_KEY=$("$build/cli/batchq" --url "http://127.0.0.1:$http" --api-key-file "$tmp/api-key" \
    keys create --tenant bench --scopes submit,read 2>/dev/null)
  export BATCHQ_API_KEY
fi
"$build/cli/batchq" --url "http://127.0.0.1:$http" bench --type upper --input '"x"' \
  --count "$count" --connections "$connections" "${loop[@]}" 2>/dev/null | sed -n 2p
kill -TERM "$gateway"
wait "$gateway" || true
callgrind_annotate --inclusive=yes "$tmp/callgrind.out" 2>/dev/null >"$tmp/annotated.txt"
total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$tmp/annotated.txt")
echo "gateway instructions: $total"
for fn in 'batchq::JobApi::Handle(' 'batchq::JobApi::Admit(' \
          'batchq::KeyAuthenticator::Authenticate(' 'batchq::KeyAuthenticator::AuthenticateCached(' \
          'batchq::SecretMatches(' 'batchq::RateLimiter::Take(' 'batchq::SubmitHandler::Handle(' \
          'batchq::JobStore::Create(' 'batchq::JobStore::CreateGroup(' 'batchq::JobStore::GetMany(' \
          'batchq::RedisConnection::PipelineOnce(' 'batchq::RenderJob[abi' 'batchq::FormatRfc3339[abi' \
          'batchq::AppendJsonString(' 'batchq::HttpMetrics::Observe(' \
          'batchq::HttpMetrics::ObserveTenant('; do
  line=$(grep -F -m1 "$fn" "$tmp/annotated.txt" || true)
  n=$(awk '{gsub(",", "", $1); print $1}' <<<"$line")
  [[ -z $n ]] && continue
  printf '%-32s %14s instr  %5.1f%% of the gateway  %8.0f per submit\n' "${fn%(}" "$n" \
    "$(echo "100 * $n / $total" | bc -l)" "$(echo "$n / $count" | bc -l)"
done

# shellcheck shell=bash
# Sourced by the bench scripts that start their own processes: a scratch folder `$tmp`,
# the `pids` array (every process added there is killed when the script exits, and
# `$tmp` removed), `free_port`, a free loopback TCP port, `start_redis_and_broker`,
# `start_stack`, `start_gateway`, `run_wait_loop` and `run_closed_loop`.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_redis_and_broker BUILD_DIR: a redis-server (no persistence) and BUILD_DIR's broker
# (`upper` batched up to 64 within 2 ms, CURVE on with keys made in `$k`), on free
# loopback ports; sets redis_port, front, back, k, redis_pid and broker_pid.
start_redis_and_broker() {
  local build=$1
  redis_port=$(free_port) front=$(free_port) back=$(free_port)
  k="$tmp/keys"
  scripts/make_keys.sh "$k" "$build/cli/batchq" >/dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  "$build/broker/broker" --redis-url "redis://127.0.0.1:$redis_port" --frontend "tcp://127.0.0.1:$front" \
    --backend "tcp://127.0.0.1:$back" --curve-secret-file "$k/broker.key" --gateway-keys "$k/gateways" \
    --worker-keys "$k/workers" --type upper:max_batch_size=64,max_delay_ms=2 >"$tmp/broker.log" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
}
# start_stack BUILD_DIR: start_redis_and_broker, then two CPU workers (`upper`) and a
# gateway (keys on), on free loopback ports; waits until the gateway is ready and exports
# a tenant's key as BATCHQ_API_KEY. Sets also worker_pids, gateway_pid and http.
start_stack() {
  local build=$1 w
  start_redis_and_broker "$build"
  http=$(free_port)
  worker_pids=()
  for w in 0 1; do
    "$build/gpu_worker/gpu_worker" --name "w$w" --redis-url "redis://127.0.0.1:$redis_port" \
      --backend cpu --type upper --broker "tcp://127.0.0.1:$back" --curve-secret-file "$k/worker.key" \
      --broker-public-key-file "$k/broker.pub" >"$tmp/worker$w.log" 2>&1 &
    worker_pids+=($!)
    pids+=($!)
  done
  start_gateway "$build" "$http"
  # shellcheck disable=SC2034  # for the scripts that source this file
  gateway_pid=$started_gateway_pid
  BATCHQ_API_KEY=$("$build/cli/batchq" --url "http://127.0.0.1:$http" --api-key-file "$tmp/api-key" \
    keys create --tenant bench --scopes submit,read 2>/dev/null)
  export BATCHQ_API_KEY
}
# start_gateway BUILD_DIR PORT [SUFFIX]: a gateway on start_redis_and_broker's Redis and
# broker, keys and CURVE on, listening on PORT, its admin key in $tmp/api-keySUFFIX and its
# log in $tmp/gatewaySUFFIX.log; waits until it is ready. Sets started_gateway_pid.
start_gateway() {
  local build=$1 port=$2 suffix=${3:-}
  "$build/gateway/gateway" --redis-url "redis://127.0.0.1:$redis_port" --broker "tcp://127.0.0.1:$front" \
    --port "$port" --admin-key-file "$tmp/api-key$suffix" --curve-secret-file "$k/gateway.key" \
    --broker-public-key-file "$k/broker.pub" >"$tmp/gateway$suffix.log" 2>&1 &
  started_gateway_pid=$!
  pids+=("$started_gateway_pid")
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
}
# run_wait_loop BUILD_DIR COUNT: COUNT `upper` jobs through start_stack's gateway on 64
# connections, each submitted with `?wait_ms` (30 s), so answered when it ends; the
# bench's output on stdout and stderr.
run_wait_loop() {
  "$1/cli/batchq" --url "http://127.0.0.1:$http" bench --type upper --input '"x"' \
    --count "$2" --connections 64 --submit-wait-ms 30000
}
# run_closed_loop BUILD_DIR COUNT: COUNT `upper` jobs through start_stack's gateway on 64
# connections, each submitted, then long-polled before the next; its summary on stderr.
run_closed_loop() {
  "$1/cli/batchq" --url "http://127.0.0.1:$http" bench --type upper --input '"x"' \
    --count "$2" --connections 64 --closed-loop 2>/dev/null | sed -n 2p >&2
}

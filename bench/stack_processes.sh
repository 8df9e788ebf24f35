# shellcheck shell=bash
# Sourced by the bench scripts that start their own processes: a scratch folder `$tmp`,
# the `pids` array (every process added there is killed when the script exits, and
# `$tmp` removed), `free_port`, a free loopback TCP port, and `start_redis_and_broker`.
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
# loopback ports; sets redis_port, front, back and k.
start_redis_and_broker() {
  local build=$1
  redis_port=$(free_port) front=$(free_port) back=$(free_port)
  k="$tmp/keys"
  scripts/make_keys.sh "$k" "$build/cli/batchq" >/dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
  pids+=($!)
  "$build/broker/broker" --redis-url "redis://127.0.0.1:$redis_port" --frontend "tcp://127.0.0.1:$front" \
    --backend "tcp://127.0.0.1:$back" --curve-secret-file "$k/broker.key" --gateway-keys "$k/gateways" \
    --worker-keys "$k/workers" --type upper:max_batch_size=64,max_delay_ms=2 >"$tmp/broker.log" 2>&1 &
  pids+=($!)
}

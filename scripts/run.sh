#!/usr/bin/env bash
# Runs the local stack without containers: redis-server on loopback (unless
# --redis-url is given), one broker, one gateway and N workers. Foreground by
# default: Ctrl-C stops every process it started.
#
#   scripts/run.sh [--port P] [--workers N] [--redis-url URL] [--backend auto|cuda|cpu]
#                  [--auth keys|none] [--curve on|off] [--ha] [--detach] [--stop]
#                  [--python-handler TYPE=FILE]... [--handler-config TEXT]
#
# --python-handler TYPE=FILE serves job type TYPE with a Python file (handle_batch; see
# README.md): the broker adds TYPE to the built-in types and every worker loads FILE.
# --auth none runs the gateway without API keys (it listens on loopback only).
# --ha runs the topology that survives losing any one process: a Redis master with
# two replicas and three sentinels (master name "batchq"), two brokers (one active,
# one standing by), and a gateway and workers that find both through the sentinels
# and the broker list. The gateway answers 202 only once a replica has the job
# (--redis-replicas-ack 1; BATCHQ_REDIS_REPLICAS_ACK=0 turns that off). Kill -9 the
# active broker or the Redis master and watch jobs keep finishing.
#
# Secure as a deployment: CURVE keys (scripts/make_keys.sh) between gateway, broker and
# workers, and Redis ACL users per role with password files
# (scripts/make_redis_users.sh), all kept in .run/keys and .run/redis-users.
# --curve off runs plain ZeroMQ between the processes (--no-curve: loopback only), to
# measure what CURVE costs.
#
# Redis gets a maxmemory (BATCHQ_REDIS_MAXMEMORY, default 1gb, noeviction); the gateway
# refuses new jobs with 503 storage_full at 90% of it, so accepted jobs can still end.
#
# Webhooks go to public addresses only; BATCHQ_WEBHOOK_ALLOW (hosts and CIDRs,
# comma-separated, e.g. 127.0.0.1) lets the gateway send them to the ones listed too.
#
# --detach starts everything in the background and keeps pids and logs in .run/
# (BATCHQ_RUN_DIR: elsewhere); --stop stops a detached stack. BATCHQ_WORKER_BIN runs
# another worker binary (benchmarks compare an older build's). BATCHQ_BIN_DIR runs binaries
# built elsewhere (see scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# BATCHQ_RUN_DIR keeps a second stack's state apart (benchmarks use a fresh one).
run_dir="${BATCHQ_RUN_DIR:-$root/.run}"

port=8080
workers=2
redis_url=""
backend=auto
auth=keys
curve=on
ha=0
python_handlers=()
handler_config=""
detach=0
stop=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --redis-url) redis_url=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --auth) auth=$2; shift 2 ;;
    --curve) curve=$2; shift 2 ;;
    --ha) ha=1; shift ;;
    --python-handler) python_handlers+=("$2"); shift 2 ;;
    --handler-config) handler_config=$2; shift 2 ;;
    --detach) detach=1; shift ;;
    --stop) stop=1; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

stop_all() {
  [[ -d "$run_dir" ]] || return 0
  local pids=()
  for f in "$run_dir"/*.pid; do
    [[ -e "$f" ]] || continue
    pids+=("$(cat "$f")")
  done
  # Workers and gateway first, so nothing talks to a stopped broker or Redis.
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -f "$run_dir"/*.pid
}

if [[ $stop -eq 1 ]]; then
  stop_all
  echo "stopped"
  exit 0
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port_from() {
  local p=$1
  while port_in_use "$p"; do p=$((p + 1)); done
  echo "$p"
}

scripts/deps.sh
bin="$root/$(scripts/build.sh)"

if ls "$run_dir"/*.pid >/dev/null 2>&1; then
  echo "a stack is already running from $run_dir; stop it with scripts/run.sh --stop" >&2
  exit 1
fi
mkdir -p "$run_dir"
if port_in_use "$port"; then
  echo "port $port is in use; pick another with --port" >&2
  exit 1
fi

start() {  # name, command...
  local name=$1; shift
  "$@" >"$run_dir/$name.log" 2>&1 &
  echo $! >"$run_dir/$name.pid"
}

keys="$run_dir/keys"
scripts/make_keys.sh "$keys" "$bin/cli/batchq"
users="$run_dir/redis-users"
# role -> the flags that log it in to Redis (its own ACL user and password file).
redis_args() {
  if [[ -n "$redis_url" ]]; then echo "--redis-url $redis_url"; return; fi
  if [[ $ha -eq 1 ]]; then
    echo "--redis-url redis-sentinel://$1@$sentinel_hosts/batchq" \
      "--redis-password-file $users/$1.password" \
      "--redis-sentinel-password-file $users/sentinels.password"
    return
  fi
  echo "--redis-url redis://$1@127.0.0.1:$redis_port --redis-password-file $users/$1.password"
}
wait_redis() {  # port
  for _ in $(seq 50); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
}
# Redis node $1 (0: the first master) on port $2; its replication login in a file.
start_redis_node() {
  local conf="$run_dir/redis-node$1.conf"
  mkdir -p "$run_dir/redis$1"
  ( umask 077
    printf 'masteruser replica\nmasterauth %s\n' "$(cat "$users/replica.password")" >"$conf"
    [[ $1 -gt 0 ]] && printf 'replicaof 127.0.0.1 %s\n' "$redis_port" >>"$conf"
    true )
  start "redis$1" redis-server "$conf" --bind 127.0.0.1 --port "$2" --dir "$run_dir/redis$1" \
    --appendonly yes --appendfsync everysec --save "" \
    --maxmemory "${BATCHQ_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy noeviction \
    --aclfile "$users/users.acl"
  wait_redis "$2"
}
start_sentinel() {  # index, port
  local conf="$run_dir/sentinel$1.conf"
  ( umask 077
    cat >"$conf" <<EOC
port $2
bind 127.0.0.1
dir $run_dir
sentinel monitor batchq 127.0.0.1 $redis_port 2
sentinel down-after-milliseconds batchq 2000
sentinel failover-timeout batchq 10000
sentinel auth-user batchq sentinel
sentinel auth-pass batchq $(cat "$users/sentinel.password")
requirepass $(cat "$users/sentinels.password")
sentinel sentinel-pass $(cat "$users/sentinels.password")
EOC
  )
  start "sentinel$1" redis-sentinel "$conf"
}
if [[ -z "$redis_url" && $ha -eq 1 ]]; then
  scripts/make_redis_users.sh "$users"
  export REDISCLI_AUTH
  REDISCLI_AUTH=$(cat "$users/admin.password")
  redis_port=$(free_port_from 6379)
  replica_ports=("$(free_port_from $((redis_port + 1)))")
  replica_ports+=("$(free_port_from $((replica_ports[0] + 1)))")
  start_redis_node 0 "$redis_port"
  start_redis_node 1 "${replica_ports[0]}"
  start_redis_node 2 "${replica_ports[1]}"
  sentinel_ports=("$(free_port_from 26379)")
  sentinel_ports+=("$(free_port_from $((sentinel_ports[0] + 1)))")
  sentinel_ports+=("$(free_port_from $((sentinel_ports[1] + 1)))")
  sentinel_hosts=""
  for i in 0 1 2; do
    start_sentinel "$i" "${sentinel_ports[$i]}"
    sentinel_hosts+="${sentinel_hosts:+,}127.0.0.1:${sentinel_ports[$i]}"
  done
elif [[ -z "$redis_url" ]]; then
  scripts/make_redis_users.sh "$users"
  redis_port=$(free_port_from 6379)
  start redis redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$run_dir" \
    --appendonly yes --appendfsync everysec --save "" \
    --maxmemory "${BATCHQ_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy noeviction \
    --aclfile "$users/users.acl"
  export REDISCLI_AUTH
  REDISCLI_AUTH=$(cat "$users/admin.password")
  wait_redis "$redis_port"
  echo "$redis_port" >"$run_dir/redis.port"
fi
frontend_port=$(free_port_from 5555)
backend_port=$(free_port_from $((frontend_port + 1)))
frontends="tcp://127.0.0.1:$frontend_port"
backends="tcp://127.0.0.1:$backend_port"
if [[ $ha -eq 1 ]]; then
  frontend2_port=$(free_port_from $((backend_port + 1)))
  backend2_port=$(free_port_from $((frontend2_port + 1)))
  frontends+=",tcp://127.0.0.1:$frontend2_port"
  backends+=",tcp://127.0.0.1:$backend2_port"
fi
curve_client() {  # role
  if [[ $curve == off ]]; then echo "--no-curve"; return; fi
  echo "--curve-secret-file $keys/$1.key --broker-public-key-file $keys/broker.pub"
}
curve_server() {
  if [[ $curve == off ]]; then echo "--no-curve"; return; fi
  echo "--curve-secret-file $keys/broker.key --gateway-keys $keys/gateways --worker-keys $keys/workers"
}

# Python handlers' types join the built-in ones on the broker; every worker loads them.
broker_types=()
worker_python=()
if [[ ${#python_handlers[@]} -gt 0 ]]; then
  for t in upper sleep mlp render; do broker_types+=(--type "$t"); done
  for spec in "${python_handlers[@]}"; do
    broker_types+=(--type "${spec%%=*}")
    worker_python+=(--python-handler "${spec%%=*}=$(realpath "${spec#*=}")")
  done
  [[ -n $handler_config ]] && worker_python+=(--handler-config "$handler_config")
fi
# shellcheck disable=SC2046  # the helpers print flags meant to split
start broker "$bin/broker/broker" $(redis_args broker) \
  --frontend "tcp://127.0.0.1:$frontend_port" --backend "tcp://127.0.0.1:$backend_port" \
  $(curve_server) "${broker_types[@]}"
if [[ $ha -eq 1 ]]; then
  # The standby: same keys, its own ports; it takes over when the lease lapses.
  # shellcheck disable=SC2046
  start broker2 "$bin/broker/broker" $(redis_args broker) \
    --frontend "tcp://127.0.0.1:$frontend2_port" --backend "tcp://127.0.0.1:$backend2_port" \
    $(curve_server) "${broker_types[@]}"
fi
gateway_ha=()
[[ $ha -eq 1 ]] && gateway_ha=(--redis-replicas-ack "${BATCHQ_REDIS_REPLICAS_ACK:-1}")
# API keys are on, as in a deployment: the gateway makes the bootstrap admin key on
# its first start (mode 0600) and keeps using it on later ones.
key_file="$run_dir/api-key"
# shellcheck disable=SC2046
start gateway "$bin/gateway/gateway" $(redis_args gateway) --port "$port" \
  --broker "$frontends" $(curve_client gateway) \
  --admin-key-file "$key_file" --auth "$auth" "${gateway_ha[@]}" \
  --webhook-allow "${BATCHQ_WEBHOOK_ALLOW:-}"
for i in $(seq 1 "$workers"); do
  # shellcheck disable=SC2046
  start "worker$i" "${BATCHQ_WORKER_BIN:-$bin/gpu_worker/gpu_worker}" $(redis_args worker) \
    --broker "$backends" $(curve_client worker) --name "worker$i" \
    --backend "$backend" "${worker_python[@]}"
done

url="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fs "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

key=$(cat "$key_file" 2>/dev/null || true)
shown_redis=${redis_url:-redis://127.0.0.1:$redis_port}
[[ $ha -eq 1 && -z "$redis_url" ]] && shown_redis="redis-sentinel://$sentinel_hosts/batchq"
cat <<EOT
batchq is up at $url  (redis $shown_redis, $workers workers, logs in $run_dir)
CURVE keys in $keys; Redis users' passwords in $users
Admin API key (tenant "admin", every scope), kept in $key_file:
  $key
Try:
  export BATCHQ_API_KEY=\$(cat $key_file)
  curl -s -X POST $url/v1/jobs -H "Authorization: Bearer \$BATCHQ_API_KEY" -H 'Content-Type: application/json' -d '{"type":"upper","input":"hello batchq"}'
  $bin/cli/batchq --url $url submit upper "hello batchq" --wait
  $bin/cli/batchq --url $url keys create --tenant team-a --scopes submit,read,cancel
Dashboard: $url/ui (paste the key at the top right)
EOT
if [[ $ha -eq 1 && -z "$redis_url" ]]; then
  cat <<EOT
High availability: brokers $frontends (one active); Redis master 127.0.0.1:$redis_port with
replicas on ${replica_ports[*]}, sentinels on ${sentinel_ports[*]}. Try a failover under load:
  $bin/cli/batchq --url $url bench --type upper --count 20000 &
  kill -9 \$(cat $run_dir/broker.pid)     # the active broker (or broker2.pid)
  kill -9 \$(cat $run_dir/redis0.pid)     # the first Redis master
  REDISCLI_AUTH=\$(cat $users/sentinels.password) redis-cli -p ${sentinel_ports[0]} SENTINEL get-master-addr-by-name batchq
EOT
fi

if [[ $detach -eq 1 ]]; then
  echo "detached; stop with: scripts/run.sh --stop"
  exit 0
fi
trap 'echo; echo "stopping..."; stop_all; exit 0' INT TERM
echo "Ctrl-C stops everything."
# Stay in the foreground while the stack runs; exit if the gateway dies.
while kill -0 "$(cat "$run_dir/gateway.pid")" 2>/dev/null; do sleep 1; done
echo "the gateway exited; see $run_dir/gateway.log" >&2
stop_all
exit 1

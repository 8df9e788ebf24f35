#!/usr/bin/env bash
# The compose stack, for real: a private dockerd (data and exec roots under a temp
# folder, its own unix socket), a local Debian base image, the images built, then
# `up --scale gpu_worker=3` with CPU workers. Jobs go through the gateway's published
# port with the batchq CLI; all three workers must run batches; one worker is killed
# mid-load and every accepted job must still succeed. Cleans up what it started.
# Usage: compose_test.sh SOURCE_DIR BATCHQ_CLI [BUILD_DIR]
# With BUILD_DIR (a build folder: broker/, gateway/, gpu_worker/, cli/), the batchq image
# takes that build's binaries (the Dockerfile's `prebuilt`) instead of compiling its own,
# when this host runs the base image's Debian release, whose libraries the image ships.
# The suite's tests thus run the very binaries they built, and CI compiles them once.
set -euo pipefail
src=$(cd "$1" && pwd)
cli=$(realpath "$2")
bin_dir=${3:+$(realpath "$3")}
base_image=debian:bookworm-slim
project=batchq-ci-$$
if [[ $(id -u) -ne 0 ]]; then
  echo "compose_test: skipped: dockerd needs root" >&2
  exit 77
fi
for tool in dockerd debootstrap docker-compose; do
  command -v "$tool" >/dev/null || { echo "compose_test: skipped: no $tool" >&2; exit 77; }
done
# A slow `sleep` type (0.3 s a batch) keeps every worker busy, so the kill lands on
# batches in flight, which the broker must re-run elsewhere.
count=1200
rate=150

work=$(mktemp -d /tmp/bq-compose.XXXXXX)
export DOCKER_HOST=unix://$work/docker.sock
docker=/usr/bin/docker
[[ -x $docker ]] || docker=$(command -v docker)
export DOCKER=$docker
compose=(docker-compose -p "$project" -f "$src/docker-compose.cpu.yml")

log() { echo "[compose_test $(date +%T)] $*" >&2; }

cleanup() {
  local rc=$?
  set +e
  if [[ $rc -ne 0 && -S $work/docker.sock ]]; then
    log "failed (exit $rc); container states and recent logs:"
    "${compose[@]}" ps >&2
    "${compose[@]}" logs --no-color --tail 40 >&2
  fi
  if [[ -S $work/docker.sock ]]; then
    timeout 60 "${compose[@]}" down -t 1 -v --remove-orphans >/dev/null 2>&1
  fi
  if [[ -f $work/docker.pid ]]; then
    local pid
    pid=$(cat "$work/docker.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  # Anything dockerd left mounted under the temp roots, then the roots themselves.
  grep -o " ${work}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

log "starting dockerd under $work"
# Niced, with all it starts (containerd, the builds' and the containers' processes): the
# test runs beside the suite's other tests, which keep the cores they ask for.
nice -n 10 dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/docker.pid" \
  -H "$DOCKER_HOST" >"$work/dockerd.log" 2>&1 &
for _ in $(seq 1 300); do
  "$docker" version >/dev/null 2>&1 && break
  sleep 0.1
done
"$docker" version >/dev/null 2>&1 || { tail -n 30 "$work/dockerd.log" >&2; exit 1; }

log "base image"
timeout 600 "$src/scripts/docker_base_image.sh" "$base_image"

# The binaries of BUILD_DIR fit the image when this host runs the base image's release
# (the same glibc and library versions) and the source folder is a git checkout (its
# files, without what git ignores, are the image's build context).
prebuilt_fits() {
  [[ -n $bin_dir ]] || return 1
  local release wanted
  release=$(. /etc/os-release && echo "${ID:-}:${VERSION_CODENAME:-}")
  wanted=$(sed -E 's/^(debian:[a-z]+).*/\1/' <<<"$base_image")
  if [[ $release != "$wanted" ]]; then
    log "this host runs '$release', not the base image's '$wanted': compiling in the image"
    return 1
  fi
  git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || {
    log "$src is no git checkout: compiling in the image"
    return 1
  }
}

# With BuildKit (through `docker build`, the chosen docker first on PATH), as Docker builds
# by default since 23.0: the image's runtime stage and the Redis image install their
# packages while the build stage compiles, where the classic builder did one step after
# another (315 s -> 266-272 s here, docs/BENCHMARKS.md). docker-compose 1.29 warns that it
# ignores --parallel with the CLI build, but builds the two images side by side with it.
PATH="$(dirname "$docker"):$PATH"
export PATH DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1 BUILDKIT_PROGRESS=plain
if prebuilt_fits; then
  # A context of its own: the checkout's files (tracked, and untracked but not ignored)
  # and the four binaries in .prebuilt/. Nothing is written into the checkout or the build.
  context=$work/context
  mkdir -p "$context/.prebuilt"
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf -) | tar -C "$context" -xf -
  cp "$bin_dir/broker/broker" "$bin_dir/gateway/gateway" "$bin_dir/gpu_worker/gpu_worker" \
    "$bin_dir/cli/batchq" "$context/.prebuilt/"
  log "docker build (the binaries of $bin_dir) beside docker-compose build redis"
  timeout 1500 "$docker" build --build-arg BINARIES=prebuilt -t batchq:local "$context" &
  batchq_image=$!
  timeout 1500 "${compose[@]}" build redis
  wait "$batchq_image"
else
  log "docker-compose build"
  timeout 1500 "${compose[@]}" build --parallel
fi

# The gateway's published port, picked as the test binaries pick theirs
# (tests/support/child_process.cpp), in case a ctest run holds them beside this test:
# below the ephemeral range, where no outgoing connection takes a port between this pick
# and Docker's bind of it, bindable now, and recorded with the time in the file they
# share under an flock, so none of them picks it in the next minute (by then Docker
# holds it).
port=$(python3 - <<'PY'
import fcntl, random, socket, time
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
with open("/tmp/batchq-test-ports", "a+") as ports:
    fcntl.flock(ports, fcntl.LOCK_EX)
    ports.seek(0)
    now = int(time.time())
    recent = {int(p) for at, p in (line.split() for line in ports if line.strip())
              if now - int(at) < 60}
    for _ in range(1000):
        port = random.randrange(10000, max(11000, low))
        if port in recent:
            continue
        probe = socket.socket()
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            continue
        finally:
            probe.close()
        ports.write(f"{now} {port}\n")
        print(port)
        break
    else:
        raise SystemExit("no bindable port below the ephemeral range")
PY
)
export BATCHQ_PORT=$port BATCHQ_SLEEP_FIXED_US=300000 BATCHQ_SLEEP_PER_ITEM_US=100
url=http://127.0.0.1:$port
log "up --scale gpu_worker=3 (gateway on $url)"
timeout 300 "${compose[@]}" up -d --scale gpu_worker=3

# Healthchecks gate the start order; wait until every long-running container reports
# healthy (the one-shot `secrets` service has exited by then: Redis waited for it).
for _ in $(seq 1 120); do
  ids=$("${compose[@]}" ps -q redis broker gateway gpu_worker)
  healthy=0 total=0
  for id in $ids; do
    total=$((total + 1))
    [[ $("$docker" inspect -f '{{.State.Health.Status}}' "$id") == healthy ]] && healthy=$((healthy + 1))
  done
  [[ $total -eq 6 && $healthy -eq 6 ]] && break
  sleep 1
done
log "$healthy of $total containers healthy"
[[ $total -eq 6 && $healthy -eq 6 ]]
secrets_exit=$("$docker" inspect -f '{{.State.ExitCode}}' "$("${compose[@]}" ps -q secrets)")
log "secrets service exited with $secrets_exit"
[[ $secrets_exit == 0 ]]
# The gateway and the workers got in through CURVE, checked against the allow-lists.
handshakes=$("${compose[@]}" exec -T broker curl -fs http://127.0.0.1:9100/metrics |
  grep -E '^batchq_broker_peer_handshakes_total\{port="(gateway|worker)",verdict="allowed"\}' || true)
log "CURVE handshakes allowed: $(echo "$handshakes" | tr '\n' ' ')"
[[ $(echo "$handshakes" | grep -c .) -eq 2 ]]

# Keys are on, as in a deployment: the CLI uses the admin key the gateway made.
BATCHQ_API_KEY=$("${compose[@]}" exec -T gateway cat /var/lib/batchq/admin-key)
export BATCHQ_API_KEY
[[ $BATCHQ_API_KEY == bq_* ]]
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/types")
log "without a key: HTTP $code"
[[ $code == 401 ]]

workers_json() { "$cli" --url "$url" --output json workers; }
live_workers() { workers_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
for _ in $(seq 1 60); do [[ $(live_workers) -eq 3 ]] && break; sleep 1; done
[[ $(live_workers) -eq 3 ]]

log "bench: $count sleep jobs at $rate/s"
"$cli" --url "$url" --output json bench --type sleep --input '{}' --count "$count" \
  --rate "$rate" --connections 8 --timeout-s 120 >"$work/bench.json" &
bench=$!

# Every worker must have run batches before one of them is killed.
all_ran() {
  workers_json | python3 -c '
import json, sys
w = json.load(sys.stdin)
sys.exit(0 if len(w) == 3 and all(x.get("batches_done", 0) > 0 for x in w) else 1)'
}
for _ in $(seq 1 100); do all_ran && break; sleep 0.1; done
all_ran || { log "not every worker ran a batch"; workers_json >&2; exit 1; }
workers_json >"$work/workers_before.json"
log "all three workers ran batches: $(cat "$work/workers_before.json")"

# A worker is named HOSTNAME-PID, and a container's hostname is its short id: kill
# one that holds batches right now.
busy_worker() {
  workers_json | python3 -c '
import json, sys
busy = [w["name"] for w in json.load(sys.stdin) if w["free_credits"] < w["credits"]]
print(busy[0].rsplit("-", 1)[0] if busy else "")'
}
victim=""
for _ in $(seq 1 100); do victim=$(busy_worker) && [[ -n $victim ]] && break; sleep 0.05; done
[[ -n $victim ]] || { log "no worker holds a batch"; exit 1; }
log "killing worker container $victim while it holds a batch"
"$docker" kill "$victim" >/dev/null

wait "$bench"
log "bench: $(cat "$work/bench.json")"
python3 - "$work/bench.json" "$count" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
count = int(sys.argv[2])
problems = []
for key, want in (("accepted", count), ("succeeded", count), ("failed", 0), ("unfinished", 0)):
    if r.get(key) != want:
        problems.append(f"{key} = {r.get(key)}, want {want}")
# The killed worker's batches were re-run: some jobs took a second attempt.
if r.get("retried", 0) < 1:
    problems.append("no job was retried, so the kill hit no batch in flight")
if problems:
    sys.exit("jobs lost or failed after the worker was killed: " + "; ".join(problems))
PY

# The image's Python handler (the NumPy example, type normalize), called through the
# Python client.
normalized=$(PYTHONPATH="$src/clients/python" python3 -c '
import sys
from batchq import Client
with Client(sys.argv[1]) as client:
    print(client.submit("normalize", [3, 4], wait_s=30)["result"])' "$url")
log "normalize [3, 4] in the image's Python: $normalized"
[[ $normalized == "{'norm': 5.0, 'unit': [0.6, 0.8]}" ]]

# The broker must have noticed the death: two live workers remain.
for _ in $(seq 1 100); do [[ $(live_workers) -eq 2 ]] && break; sleep 0.1; done
[[ $(live_workers) -eq 2 ]] || { log "broker still lists the killed worker"; workers_json >&2; exit 1; }

log "down"
timeout 120 "${compose[@]}" down -t 1 -v --remove-orphans
log "passed"

#!/usr/bin/env bash
# This checkout's stack against another commit's, on the same machine and through the same
# load generator: what an issue's "today" figure is worth on a machine other than the one
# it was measured on. Each side is started by its own scripts/run.sh (keys, CURVE, Redis
# ACL users and AOF, 2 CPU workers, `upper` with its default settings), fresh for every
# run, and driven by this build's `batchq bench` on 64 connections. Per round, in
# alternating order: the other commit's closed loop (POST, then long-poll), this one's,
# and this one's `POST ?wait_ms` loop (which the other may lack). One JSON line per run:
# the bench's own report and the stack's CPU per job (utime + stime of every process it
# started, from /proc, over the bench).
#
# The other commit is checked out once into a git worktree and built there without tests
# or benches (minutes; the worktree is kept for the next run).
#
#   bench/baseline_ab.sh [--commit REV] [--worktree DIR] [--rounds N] [--count N]
#                        [--max-batch-size N] [--max-delay-us N]
#
# The default commit, ef6ac04, is the code just before issue 15's first part: the stack
# its "today" figures describe. Both brokers batch as that issue measured "today": up to
# 64 jobs within 2 ms (the brokers' BATCHQ_MAX_BATCH_SIZE and BATCHQ_MAX_DELAY_US, which
# run.sh passes on); until its forty-eighth part this script left both at their default,
# 32 within 5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=ef6ac04 worktree="" rounds=3 count=20000 max_batch_size=64 max_delay_us=2000
while [[ $# -gt 0 ]]; do
  case $1 in
    --commit) commit=$2 ;;
    --worktree) worktree=$2 ;;
    --rounds) rounds=$2 ;;
    --count) count=$2 ;;
    --max-batch-size) max_batch_size=$2 ;;
    --max-delay-us) max_delay_us=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
export BATCHQ_MAX_BATCH_SIZE=$max_batch_size BATCHQ_MAX_DELAY_US=$max_delay_us
here=$(pwd)
worktree=${worktree:-/tmp/batchq-baseline-$commit}
generator="$here/$(scripts/build.sh)/cli/batchq"
if [[ ! -e "$worktree/.git" ]]; then
  git worktree add --detach -f "$worktree" "$commit" >&2
fi
cmake -S "$worktree" -B "$worktree/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBUILD_TESTING=OFF -DBATCHQ_BENCH=OFF -DBATCHQ_CUDA=OFF >/dev/null
ninja -C "$worktree/build" >&2

# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
now_dir=$tmp/now
stop_stacks() {
  (cd "$worktree" && scripts/run.sh --stop >/dev/null 2>&1) || true
  BATCHQ_RUN_DIR=$now_dir scripts/run.sh --stop >/dev/null 2>&1 || true
}
trap 'stop_stacks; cleanup' EXIT
stack_ticks() {  # run dir: CPU ticks of every process whose pid file it holds
  local sum=0 pid
  for file in "$1"/*.pid; do
    pid=$(cat "$file")
    [[ -r /proc/$pid/stat ]] && sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$sum"
}
# name, checkout root, its run dir, bench flags...
run_side() {
  local name=$1 root=$2 dir=$3
  shift 3
  local port before after report
  port=$(free_port)
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$root" && BATCHQ_RUN_DIR=$dir scripts/run.sh --port "$port" --workers 2 --detach >"$dir.start.log" 2>&1)
  before=$(stack_ticks "$dir")
  report=$(BATCHQ_API_KEY=$(cat "$dir/api-key") "$generator" --url "http://127.0.0.1:$port" \
    --output json bench --type upper --connections 64 --count "$count" "$@")
  after=$(stack_ticks "$dir")
  (cd "$root" && BATCHQ_RUN_DIR=$dir scripts/run.sh --stop >/dev/null 2>&1) || true
  python3 - "$name" "$round" "$report" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import json, sys
name, rnd, report, before, after, hz = sys.argv[1:]
bench = json.loads(report)
cpu_us = (int(after) - int(before)) * 1e6 / int(hz) / max(bench["succeeded"], 1)
print(json.dumps({"stack": name, "round": int(rnd), "bench": bench,
                  "stack_cpu_us_per_job": round(cpu_us, 1)}))
PY
}
# The other commit's run.sh keeps its state in its own .run/ whatever BATCHQ_RUN_DIR says.
for round in $(seq 1 "$rounds"); do
  if ((round % 2)); then order="baseline now"; else order="now baseline"; fi
  for side in $order; do
    if [[ $side == baseline ]]; then
      run_side "$commit" "$worktree" "$worktree/.run" --closed-loop
    else
      run_side now "$here" "$now_dir" --closed-loop
      run_side now-wait "$here" "$now_dir" --submit-wait-ms 30000
    fi
  done
done

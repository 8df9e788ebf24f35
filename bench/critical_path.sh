#!/usr/bin/env bash
# What the machine waits on at full speed: the stack of bench/stack_processes.sh (keys and
# CURVE on, 2 CPU workers, `upper` batched up to 64 within 2 ms) under `batchq bench` on
# 64 connections, each job submitted with `?wait_ms` (--closed-loop: submitted, then
# long-polled), while `perf sched record` sees every context switch for SECONDS. From
# `perf sched timehist` it prints, as shares of the window:
#   - each CPU's idle time, and the time both were idle at once;
#   - per thread name, its run time, and how much of it ran while the other CPU was idle:
#     then it was the only thing to run, and everything else waited on it;
#   - the lengths of redis-server's runs, and the share of its time in runs past 300 and
#     600 µs (a script holding Redis keeps every other client waiting).
# Needs perf (Debian: linux-perf) and a machine of two CPUs, as this bench's figures are.
#   bench/critical_path.sh [--closed-loop] [--seconds N] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="wait"
seconds=3
if [[ ${1:-} == --closed-loop ]]; then mode=closed; shift; fi
if [[ ${1:-} == --seconds ]]; then seconds=$2; shift 2; fi
build=${1:-build}
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 2; }
[[ $(nproc) == 2 ]] || echo "note: $(nproc) CPUs; the shares below assume two" >&2
# shellcheck source=bench/stack_processes.sh
source bench/stack_processes.sh
start_stack "$build"
# Enough jobs to outlast the warm-up and the window at about 10,000 jobs/s.
count=$(((seconds + 6) * 10000))
if [[ $mode == wait ]]; then
  run_wait_loop "$build" "$count" >"$tmp/bench.txt" 2>&1 &
else
  run_closed_loop "$build" "$count" 2>"$tmp/bench.txt" &
fi
load=$!
sleep 3
perf sched record -o "$tmp/sched.data" -- sleep "$seconds" >/dev/null 2>&1
perf sched timehist -i "$tmp/sched.data" >"$tmp/timehist.txt" 2>/dev/null
wait "$load"
grep -E '^submitted=|throughput|mean batch' "$tmp/bench.txt" || true
python3 - "$tmp/timehist.txt" <<'PY'
import bisect, collections, sys

# A timehist line: time, [cpu], task[tid/pid], wait, sch delay, run time (ms); the task
# ran on that CPU for `run` up to `time`.
runs = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) < 6 or not parts[1].startswith("["):
        continue
    try:
        end, cpu, run = float(parts[0]), int(parts[1].strip("[]")), float(parts[-1]) / 1000
    except ValueError:
        continue  # the header
    name = " ".join(parts[2:-3]).split("[")[0]
    runs.append((end - run, end, cpu, name))
start = min(r[0] for r in runs)
window = max(r[1] for r in runs) - start
idle = {0: [], 1: []}
busy = {0: [], 1: []}
for begin, end, cpu, name in runs:
    if cpu in idle:
        (idle if name == "<idle>" else busy)[cpu].append((begin, end, name))


def overlap(a, b):
    """Total time the intervals of a and b (each sorted, none overlapping) share."""
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


for cpu in (0, 1):
    idle[cpu].sort()
    busy[cpu].sort()
    print(f"cpu {cpu} idle {sum(e - b for b, e, _ in idle[cpu]) / window:6.1%}")
print(f"both idle at once {overlap(idle[0], idle[1]) / window:6.1%}")

# Per thread name: run time, and run time while the other CPU idled.
ran = collections.Counter()
alone = collections.Counter()
for cpu in (0, 1):
    other_idle = idle[1 - cpu]
    starts = [b for b, _, _ in other_idle]
    for begin, end, name in busy[cpu]:
        ran[name] += end - begin
        k = max(0, bisect.bisect_right(starts, begin) - 1)
        while k < len(other_idle) and other_idle[k][0] < end:
            alone[name] += max(0.0, min(end, other_idle[k][1]) - max(begin, other_idle[k][0]))
            k += 1
print(f"{'thread':16} {'runs':>7} {'alone':>7} {'alone/runs':>10}   (shares of one CPU's window)")
for name, time in ran.most_common(14):
    print(f"{name:16} {time / window:7.1%} {alone[name] / window:7.1%} {alone[name] / time:10.0%}")

lengths = sorted((e - b) * 1e6 for b, e, name in busy[0] + busy[1] if name == "redis-server")


def quantile(q):
    return lengths[min(len(lengths) - 1, int(len(lengths) * q))]


if lengths:
    total = sum(lengths)
    print(f"redis-server runs: {len(lengths) / window:.0f}/s, p50 {quantile(0.5):.0f} µs, "
          f"p90 {quantile(0.9):.0f} µs, p99 {quantile(0.99):.0f} µs; its time in runs past 300 µs "
          f"{sum(x for x in lengths if x > 300) / total:.0%}, past 600 µs "
          f"{sum(x for x in lengths if x > 600) / total:.0%}")
PY

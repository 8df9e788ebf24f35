"""Plots bench/scheduler.sh results: throughput and p99 latency against offered load."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
for mode, style in (("fixed", "o--"), ("adaptive", "s-")):
    data = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["offered_per_s"])
    offered = [r["offered_per_s"] for r in data]
    ax1.plot(offered, [r["end_to_end_jobs_per_s"] for r in data], style, label=f"{mode} delay")
    ax2.plot(offered, [r["latency_p99_ms"] for r in data], style, label=f"{mode} p99")
    ax2.plot(offered, [r["latency_p50_ms"] for r in data], style, alpha=0.5, label=f"{mode} p50")
if rows:
    ideal = rows[0]["ideal_per_s"]
    ax1.axhline(ideal, color="grey", lw=0.8, ls=":", label="ideal (cost model)")
ax1.set_xlabel("offered load (jobs/s)")
ax1.set_ylabel("completed (jobs/s)")
ax1.set_title("Throughput, sleep cost model, 2 workers")
ax1.legend()
ax2.set_xlabel("offered load (jobs/s)")
ax2.set_ylabel("latency, accept -> result (ms)")
ax2.set_yscale("log")
ax2.set_title("Latency")
ax2.legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)

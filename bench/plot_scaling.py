"""Plots bench/scaling_bench results: end-to-end jobs/s against workers (median of the
rounds, with each round's point), beside the cost model's ideal; and, under it, the CPU
each part of the service spent per job.
Usage: plot_scaling.py OUT.png FILE.jsonl"""
import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
counts = sorted({r["workers"] for r in rows})
by_count = {w: [r for r in rows if r["workers"] == w] for w in counts}
measured = [statistics.median(r["bench"]["end_to_end_jobs_per_s"] for r in by_count[w])
            for w in counts]
ideal = [by_count[w][0]["ideal_jobs_per_s"] for w in counts]

fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7),
                                  gridspec_kw={"height_ratios": [3, 2]})
top.plot(counts, ideal, "k--", label="ideal of the cost model")
top.plot(counts, measured, "o-", label="measured (median)")
for w in counts:
    top.plot([w] * len(by_count[w]), [r["bench"]["end_to_end_jobs_per_s"] for r in by_count[w]],
             ".", color="gray", alpha=0.6)
model = rows[0]
top.set_xlabel("workers")
top.set_ylabel("jobs/s, end to end")
top.set_title(f"sleep jobs over namespaced hosts: {model['fixed_us'] / 1000:g} ms + "
              f"{model['per_item_us'] / 1000:g} ms/job, batches of {model['max_batch']}")
top.set_xscale("log", base=2)
top.set_yscale("log")
top.grid(True, which="both", alpha=0.3)
top.legend()

parts = ["gateway", "redis", "broker", "workers", "load_generator"]
bottom_of = [0.0] * len(counts)
for part in parts:
    per_job = [statistics.median(r["cpu_s"][part] / r["bench"]["accepted"] * 1e6
                                 for r in by_count[w]) for w in counts]
    bottom.bar([str(w) for w in counts], per_job, bottom=bottom_of, label=part)
    bottom_of = [a + b for a, b in zip(bottom_of, per_job)]
bottom.set_xlabel("workers (over 4 worker hosts)")
bottom.set_ylabel("CPU µs per job")
bottom.legend(fontsize="small", ncol=3)
bottom.grid(True, axis="y", alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[1], dpi=110)

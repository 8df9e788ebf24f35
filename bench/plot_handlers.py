"""Plots bench/handlers.sh results: jobs/s against batch size, one line per type and backend.
Usage: plot_handlers.py OUT.png FILE.jsonl [FILE.jsonl ...]"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [json.loads(line) for path in sys.argv[2:] for line in open(path) if line.strip()]
rows = [r for r in rows if r["type"] != "reference"]
fig, ax = plt.subplots(figsize=(7, 4.5))
for key in sorted({(r["type"], r["backend"], r["device"]) for r in rows}):
    data = sorted((r for r in rows if (r["type"], r["backend"], r["device"]) == key),
                  key=lambda r: r["batch"])
    style = "s-" if key[1] == "cuda" else "o--"
    ax.plot([r["batch"] for r in data], [r["jobs_per_s"] for r in data], style,
            label=f"{key[0]} on {key[2]}")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("batch size")
ax.set_ylabel("jobs/s (handler alone, median batch time)")
ax.set_title("Batching win on real workloads")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[1], dpi=110)

"""A batchq batch handler in PyTorch: a small MLP (an nn.Module) over float vectors.

Serve it with
    gpu_worker --python-handler embed=examples/python/mlp_torch.py
(or `scripts/run.sh --python-handler embed=examples/python/mlp_torch.py`) and submit
`{"type": "embed", "input": [16 numbers]}`; the result is `{"embedding": [8 numbers]}`.

--handler-config takes JSON, every field optional:
    {"width": 16, "hidden": 64, "out": 8, "seed": 0, "weights": "model.pt", "threads": 2}
Without "weights" the layers are random from "seed", the same on every host; with it,
they come from a state_dict saved by torch.save(model.state_dict(), path).

The same file runs on a GPU host: the model moves to CUDA when torch sees a device.
Each batch is one forward pass over the stacked inputs, which is where batching pays:
one matrix product for the whole batch instead of one per request. The inputs arrive as
float32 NumPy arrays (INPUTS below), read by the worker without a JSON decode in Python.
An input of the wrong shape fails that job alone.
"""

import json

import numpy as np
import torch
from torch import nn

INPUTS = "numpy"
INPUT_DTYPE = "float32"


class Mlp(nn.Module):
    def __init__(self, width, hidden, out):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, out)
        )

    def forward(self, x):
        return self.layers(x)


_model = None
_device = "cpu"
_width = 16


def setup(config):
    global _model, _device, _width
    settings = json.loads(config) if config.strip() else {}
    _width = int(settings.get("width", 16))
    if "threads" in settings:
        torch.set_num_threads(int(settings["threads"]))
    torch.manual_seed(int(settings.get("seed", 0)))
    model = Mlp(_width, int(settings.get("hidden", 64)), int(settings.get("out", 8)))
    if "weights" in settings:
        model.load_state_dict(torch.load(settings["weights"], map_location="cpu"))
    _device = "cuda" if torch.cuda.is_available() else "cpu"
    _model = model.to(_device).eval()


def handle_batch(inputs):
    if _model is None:
        setup("")
    results = [None] * len(inputs)
    rows, at = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, np.ndarray) and x.shape == (_width,):
            rows.append(x)
            at.append(i)
        else:
            results[i] = ValueError(f"the input must be a list of {_width} numbers")
    if rows:
        with torch.inference_mode():
            batch = torch.from_numpy(np.stack(rows)).to(_device)
            outputs = _model(batch).cpu().numpy()
        for i, row in zip(at, outputs):
            results[i] = {"embedding": row.tolist()}
    return results

"""A batchq batch handler in NumPy: L2-normalises float vectors.

Serve it with `gpu_worker --python-handler normalize=examples/python/normalize_numpy.py`
(or `scripts/run.sh --python-handler normalize=examples/python/normalize_numpy.py`) and
submit `{"type": "normalize", "input": [3, 4]}`; the result is
`{"norm": 5.0, "unit": [0.6, 0.8]}`.

The whole batch is one NumPy call per vector length: the batcher's work becomes a
matrix operation, which is why batching pays. An input that is not a list of numbers
fails that job alone; the rest of the batch still gets its results.
"""

import numbers

import numpy as np


def _invalid(value):
    if not isinstance(value, list) or not value:
        return ValueError("the input must be a non-empty list of numbers")
    if not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in value):
        return ValueError("every element must be a number")
    return None


def handle_batch(inputs):
    results = [None] * len(inputs)
    by_length = {}
    for i, value in enumerate(inputs):
        error = _invalid(value)
        if error is not None:
            results[i] = error
        else:
            by_length.setdefault(len(value), []).append(i)
    for indices in by_length.values():
        rows = np.asarray([inputs[i] for i in indices], dtype=np.float64)
        norms = np.linalg.norm(rows, axis=1)
        safe = np.where(norms == 0, 1.0, norms)
        units = rows / safe[:, None]
        for i, norm, unit in zip(indices, norms, units):
            results[i] = {"norm": float(norm), "unit": unit.tolist()}
    return results

#pragma once
// A Python handler's result written as JSON in C++, without Python's json module: the
// same text json.dumps(value, separators=(",", ":"), ensure_ascii=False) gives (floats
// by CPython's own repr), at a fraction of the cost for lists of numbers. Only for
// python_handler.cpp: the caller holds the GIL.

#include <Python.h>

#include <string>

namespace batchq {

// Appends `value` (None, bool, int, float, str, list, tuple, dict with str keys, and
// anything with tolist(), such as NumPy arrays and scalars) to `out`, and returns true.
// Returns false, `out` then unspecified, for anything else (a NaN, an int past 64 bits,
// a non-str key, another type, nesting past 100 levels): the caller falls back to
// Python's encoder, which encodes it or says why it cannot. A Python error raised by
// tolist() is cleared.
bool AppendPythonJson(PyObject* value, std::string& out);

}  // namespace batchq

#pragma once
// A job type served by a Python file (`gpu_worker --python-handler TYPE=FILE`). The file
// defines handle_batch(inputs: list) -> list and may define setup(config: str), called
// once with --handler-config, and close(), called when the handler goes.
//  * inputs: the jobs' inputs decoded from JSON, in order (the batch is parsed once, as
//    one JSON array, not item by item). A file that sets INPUTS = "numpy" gets each input
//    that is a rectangular array of numbers as a NumPy array instead, of INPUT_DTYPE
//    ("float64", the default, or "float32"), read in C++ without a JSON decode in Python;
//    other inputs still arrive decoded, for the handler to answer with an error;
//  * per returned entry: a JSON-serialisable value is that job's result (written in C++,
//    the same text as Python's json.dumps; python_json.h); bytes, or a
//    (bytes, media_type) pair, a binary result; an Exception instance fails that job
//    alone (handler_error, "Type: message");
//  * an exception raised by handle_batch fails the whole batch with its type and
//    message (the traceback goes to the worker's log); a list of the wrong length fails
//    it with a sentence. The worker lives on in every case.
// One CPython interpreter per process, started by the first handler and never finalised
// (its objects may be in use until exit). The GIL is held only inside calls into Python,
// so the worker's other threads (heartbeats, the result writer) run while Python works.
// Built when CPython's embedding library and pybind11 are found (BuiltWithPython()).

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "gpu_worker/handler.h"

namespace batchq {

struct PythonHandlerSpec {
  std::string type;
  std::string file;
};

// "TYPE=FILE": invalid_setting unless TYPE is a valid type name and FILE is not empty.
Result<PythonHandlerSpec> ParsePythonHandlerSpec(std::string_view text);

// True when this build can embed Python.
bool BuiltWithPython();

// invalid_plugin when the file cannot be read or run, lacks a callable handle_batch, sets
// INPUTS or INPUT_DTYPE to something else, asks for NumPy on a host without it, or its
// setup() raises; the sentence says which, with Python's message. Run() may be called from
// any one thread at a time.
Result<std::unique_ptr<Handler>> LoadPythonHandler(const std::string& file,
                                                   const std::string& config);

}  // namespace batchq

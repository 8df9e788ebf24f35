#pragma once
// The one interface every job type implements: a batch of inputs in, one result
// (or error) per input out. A CUDA handler and its CPU twin give the same answers.

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace batchq {

// What one item produced. A JSON result is `json` alone. A binary result (an image)
// puts its bytes in `blob`, their media type in `content_type`, and a short JSON
// description (size, dimensions) in `json`; the gateway serves the bytes raw at
// GET /v1/jobs/{id}/result.
struct ItemOutput {
  std::string json;
  std::string blob;
  std::string content_type;

  ItemOutput() = default;
  // Implicit on purpose: most handlers return JSON text and nothing else.
  ItemOutput(std::string json_text) : json(std::move(json_text)) {}  // NOLINT
  ItemOutput(std::string json_text, std::string bytes, std::string type)
      : json(std::move(json_text)), blob(std::move(bytes)), content_type(std::move(type)) {}
};

// One item's output, or that item's own error (e.g. invalid_input).
using ItemResult = Result<ItemOutput>;

class Handler {
 public:
  virtual ~Handler() = default;

  // `inputs` are JSON texts. Returns exactly inputs.size() results, or an Error for the
  // whole batch when the device itself failed. An Error with code kOutOfMemory tells the
  // caller that a smaller batch may fit (see RunSplittingOnOom).
  // Called from one thread at a time.
  virtual Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) = 0;

  // The two-phase form, for device handlers. Launch checks and packs the inputs, enqueues
  // the batch's copies and kernels on a stream of its own and returns at once with a
  // ticket; Collect waits for that batch and returns what Run would have. Up to
  // launch_slots() batches may be launched and not yet collected; they are collected in
  // launch order. `inputs` must stay alive until Collect. The executor launches the
  // next batch before collecting the current one, so the host's packing and PNG/JSON
  // encoding overlap the device's work and the device does not wait between batches.
  // Handlers that return 0 from launch_slots() are only ever Run.
  virtual int launch_slots() const { return 0; }
  virtual Result<int> Launch(std::span<const std::string_view> /*inputs*/) {
    return Fail(ErrorCode::kHandlerError, "This handler cannot launch asynchronously.");
  }
  virtual Result<std::vector<ItemResult>> Collect(int /*ticket*/) {
    return Fail(ErrorCode::kHandlerError, "This handler cannot launch asynchronously.");
  }

  // Device-busy time summed over every batch so far (CUDA events around each batch's
  // copies and kernels); zero for handlers that do not measure it (the CPU ones).
  virtual std::chrono::microseconds device_time() const { return std::chrono::microseconds(0); }
};

// The code of a whole-batch error that a smaller batch may avoid.
inline constexpr ErrorCode kOutOfMemory = ErrorCode::kDeviceOutOfMemory;

}  // namespace batchq

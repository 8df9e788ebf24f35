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

// Which jobs of the batches a handler runs were cancelled while they ran (DELETE on a
// running job). Thread-safe: handlers may ask from any thread, between items or kernel
// launches, and stop early; the worker refuses a cancelled job's result either way.
class BatchCancellation {
 public:
  virtual ~BatchCancellation() = default;
  // Whether the job whose input is `input` (one of the very views the handler was
  // given, compared by address) was cancelled.
  virtual bool Cancelled(std::string_view input) const = 0;
};

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

  // Set once by the worker before the first batch; must outlive the handler's runs.
  // Handlers that wrap others pass it on.
  virtual void set_cancellation(const BatchCancellation* cancellation) {
    cancellation_ = cancellation;
  }

 protected:
  // Whether the job of `input` was cancelled while its batch runs.
  bool Cancelled(std::string_view input) const {
    return cancellation_ != nullptr && cancellation_->Cancelled(input);
  }
  // Whether every job of `inputs` was: the batch may stop.
  bool AllCancelled(std::span<const std::string_view> inputs) const {
    if (cancellation_ == nullptr || inputs.empty()) return false;
    for (const auto input : inputs) {
      if (!cancellation_->Cancelled(input)) return false;
    }
    return true;
  }
  // What a handler answers for an item it did not finish because it was cancelled.
  static ItemResult CancelledItem() {
    return Fail(ErrorCode::kCancelled, "The job was cancelled while it ran.");
  }

 private:
  const BatchCancellation* cancellation_ = nullptr;
};

// The code of a whole-batch error that a smaller batch may avoid.
inline constexpr ErrorCode kOutOfMemory = ErrorCode::kDeviceOutOfMemory;

}  // namespace batchq

#pragma once
// The job types the broker refuses by time (admission by time: a type's projected queue
// wait past its max_queue_wait), so that a gateway refuses their submits itself, before
// anything is written: a refused submit then costs neither a Redis write and its
// withdrawal nor a broker round trip, which keeps throughput up under overload. The
// broker's word decides: its status (every ping) says which types refuse; a
// queue_wait_exceeded verdict marks its type refusing at once, until a status newer than
// the verdict says otherwise. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/string_view_hash.h"
#include "common/wire.h"

namespace batchq {

class SaturatedTypes {
 public:
  struct Refusal {
    std::string message;
    std::chrono::milliseconds retry_after{0};
  };

  // The broker refused a job of `type` by time; `current` is the status the gateway held
  // when the verdict arrived (a status with a higher seq is newer than the verdict).
  void Mark(std::string_view type, const wire::Status& current,
            std::chrono::milliseconds retry_after, std::string message);
  // Why a submit of `type` is refused now, given the latest status; nullopt: admit it.
  std::optional<Refusal> Check(std::string_view type, const wire::Status& latest) const;

 private:
  struct Marked {
    std::uint64_t status_seq = 0;
    Refusal refusal;
  };
  mutable std::mutex mutex_;
  // Looked up by string_view: a check on every submit allocates nothing.
  std::unordered_map<std::string, Marked, StringViewHash, std::equal_to<>> marks_;
};

}  // namespace batchq

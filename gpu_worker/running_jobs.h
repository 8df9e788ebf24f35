#pragma once
// The jobs of the batches this worker has handed to its handlers and not yet collected,
// by the address of their input text: what a handler's cancellation checks
// (BatchCancellation) look up, and what the broker's CANCEL marks. A cancel for a job
// that is not running yet (claimed, waiting for the handler) is kept for the next
// kRecentCancels cancels, so the job is marked when its batch starts. Thread-safe.

#include <cstddef>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "gpu_worker/handler.h"

namespace batchq {

class RunningJobs final : public BatchCancellation {
 public:
  static constexpr std::size_t kRecentCancels = 1024;

  // A batch goes to its handler: `inputs[i]` is job `ids[i]`'s input, and the views must
  // stay where they are until Remove.
  void Add(std::span<const std::string_view> inputs, std::span<const std::string_view> ids);
  void Remove(std::span<const std::string_view> inputs);
  // The broker says job `id` was cancelled.
  void Cancel(std::string_view id);

  bool Cancelled(std::string_view input) const override;
  std::size_t size() const;

 private:
  struct Job {
    std::string id;
    bool cancelled = false;
  };
  mutable std::mutex mutex_;
  std::unordered_map<const char*, Job> by_input_;
  std::unordered_map<std::string, const char*> by_id_;
  std::unordered_set<std::string> recent_cancels_;  // not running when cancelled
  std::deque<std::string> recent_order_;
};

}  // namespace batchq

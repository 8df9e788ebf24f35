#include "gpu_worker/two_phase_cpu_handler.h"

#include <future>
#include <vector>

namespace batchq {
namespace {

class TwoPhaseCpuHandler final : public Handler {
 public:
  TwoPhaseCpuHandler(const std::function<std::unique_ptr<Handler>()>& make, int slots) {
    for (int i = 0; i < slots; ++i) slots_.push_back(Slot{make(), {}});
  }

  ~TwoPhaseCpuHandler() override {
    for (auto& slot : slots_) {
      if (slot.pending.valid()) slot.pending.wait();
    }
  }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    for (auto& slot : slots_) {
      if (!slot.pending.valid()) return slot.handler->Run(inputs);
    }
    return Fail(ErrorCode::kHandlerError, "Every launch slot is busy.");
  }

  int launch_slots() const override { return static_cast<int>(slots_.size()); }

  void set_cancellation(const BatchCancellation* cancellation) override {
    for (auto& slot : slots_) slot.handler->set_cancellation(cancellation);
  }

  Result<int> Launch(std::span<const std::string_view> inputs) override {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = slots_[i];
      if (slot.pending.valid()) continue;
      Handler* handler = slot.handler.get();
      slot.pending =
          std::async(std::launch::async, [handler, inputs] { return handler->Run(inputs); });
      return static_cast<int>(i);
    }
    return Fail(ErrorCode::kHandlerError, "Every launch slot is busy.");
  }

  Result<std::vector<ItemResult>> Collect(int ticket) override {
    if (ticket < 0 || ticket >= static_cast<int>(slots_.size()) ||
        !slots_[ticket].pending.valid()) {
      return Fail(ErrorCode::kHandlerError, "Collect was given a ticket that is not in flight.");
    }
    return slots_[ticket].pending.get();
  }

 private:
  struct Slot {
    std::unique_ptr<Handler> handler;
    std::future<Result<std::vector<ItemResult>>> pending;
  };
  std::vector<Slot> slots_;
};

}  // namespace

std::unique_ptr<Handler> MakeTwoPhaseCpuHandler(std::function<std::unique_ptr<Handler>()> make,
                                                int slots) {
  return std::make_unique<TwoPhaseCpuHandler>(make, slots);
}

}  // namespace batchq

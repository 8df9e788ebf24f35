#pragma once
// What every CUDA handler shares: CUDA errors as values (never exits), with
// out-of-memory given the code the batch splitter recognises, and growable buffers
// (pinned host or device) that are reused across batches.
// Included only by this folder's .cpp files (it pulls in the CUDA runtime headers).

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "gpu_worker/handler.h"

namespace batchq::cuda {

inline Error CudaFailure(std::string_view what, cudaError_t error) {
  const bool oom = error == cudaErrorMemoryAllocation;
  return Error{
      oom ? kOutOfMemory : ErrorCode::kCudaError,
      fmt::format("{} failed: {} ({}).", what, cudaGetErrorString(error), cudaGetErrorName(error))};
}

#define BATCHQ_RETURN_IF_CUDA_ERR(what, expr)                                  \
  do {                                                                         \
    const cudaError_t batchq_err = (expr);                                     \
    if (batchq_err != cudaSuccess) {                                           \
      return std::unexpected(::batchq::cuda::CudaFailure((what), batchq_err)); \
    }                                                                          \
  } while (0)

// A buffer of T that grows (never shrinks) and is reused: pinned host memory when
// kPinned, else device memory. Not thread-safe; owned by one handler.
template <class T, bool kPinned>
class GrowableBuffer {
 public:
  GrowableBuffer() = default;
  GrowableBuffer(const GrowableBuffer&) = delete;
  GrowableBuffer& operator=(const GrowableBuffer&) = delete;
  GrowableBuffer(GrowableBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}
  GrowableBuffer& operator=(GrowableBuffer&&) = delete;
  ~GrowableBuffer() { Free(); }

  Status Reserve(std::size_t count) {
    if (count <= capacity_) return Ok();
    const std::size_t grown = std::max<std::size_t>({count, capacity_ * 3 / 2, 256});
    Free();
    void* raw = nullptr;
    const cudaError_t error =
        kPinned ? cudaMallocHost(&raw, grown * sizeof(T)) : cudaMalloc(&raw, grown * sizeof(T));
    if (error != cudaSuccess) {
      cudaGetLastError();  // allocation failures are not sticky; clear them
      return std::unexpected(CudaFailure(kPinned ? "cudaMallocHost" : "cudaMalloc", error));
    }
    data_ = static_cast<T*>(raw);
    capacity_ = grown;
    return Ok();
  }

  T* data() { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  void Free() {
    if (data_ != nullptr) kPinned ? cudaFreeHost(data_) : cudaFree(data_);
    data_ = nullptr;
    capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

template <class T>
using PinnedBuffer = GrowableBuffer<T, true>;
template <class T>
using DeviceBuffer = GrowableBuffer<T, false>;

// The two-phase skeleton both device handlers share: kSlots launch slots (a Slot has
// at least `stream`, `start`, `stop` and `bool busy`), Run as Launch then Collect, and
// the slots' bookkeeping, streams and events.
template <class Slot, int kSlots>
class SlottedHandler : public Handler {
 public:
  ~SlottedHandler() override {
    if (base_ != nullptr) cudaEventDestroy(base_);
    for (auto& slot : slots_) {
      if (slot.start != nullptr) cudaEventDestroy(slot.start);
      if (slot.stop != nullptr) cudaEventDestroy(slot.stop);
      if (slot.stream != nullptr) cudaStreamDestroy(slot.stream);
    }
  }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    auto ticket = Launch(inputs);
    if (!ticket) return std::unexpected(ticket.error());
    return Collect(*ticket);
  }

  int launch_slots() const override { return kSlots; }
  std::chrono::microseconds device_time() const override { return device_time_; }

 protected:
  // Selects `device` and gives every slot a stream of its own and its two events.
  Status InitSlots(int device) {
    device_ = device;
    BATCHQ_RETURN_IF_CUDA_ERR("cudaSetDevice", cudaSetDevice(device));
    for (auto& slot : slots_) {
      BATCHQ_RETURN_IF_CUDA_ERR("cudaStreamCreate",
                                cudaStreamCreateWithFlags(&slot.stream, cudaStreamNonBlocking));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaEventCreate", cudaEventCreate(&slot.start));
      BATCHQ_RETURN_IF_CUDA_ERR("cudaEventCreate", cudaEventCreate(&slot.stop));
    }
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventCreate", cudaEventCreate(&base_));
    BATCHQ_RETURN_IF_CUDA_ERR("cudaEventRecord", cudaEventRecord(base_, slots_[0].stream));
    return Ok();
  }

  // Adds a collected slot's batch to the device-busy time, counting overlap with the
  // batch before it once: the union of the batches' [start, stop] event spans. (Event
  // times are float milliseconds from InitSlots, so resolution coarsens after hours; it
  // serves the busy fraction of benchmarks and metrics.)
  void CountBusy(const Slot& slot) {
    float start_ms = 0;
    float stop_ms = 0;
    if (cudaEventElapsedTime(&start_ms, base_, slot.start) != cudaSuccess ||
        cudaEventElapsedTime(&stop_ms, base_, slot.stop) != cudaSuccess) {
      cudaGetLastError();
      return;
    }
    const float from = std::max(start_ms, busy_until_ms_);
    if (stop_ms > from) {
      device_time_ += std::chrono::microseconds(static_cast<std::int64_t>((stop_ms - from) * 1e3f));
    }
    busy_until_ms_ = std::max(busy_until_ms_, stop_ms);
  }

  // The first slot not in flight.
  Result<int> FreeSlot() const {
    for (int i = 0; i < kSlots; ++i) {
      if (!slots_[i].busy) return i;
    }
    return Fail(ErrorCode::kHandlerError, "Every launch slot is busy.");
  }

  // The slot of a launched ticket, now no longer in flight.
  Result<Slot*> TakeInFlight(int ticket) {
    if (ticket < 0 || ticket >= kSlots || !slots_[ticket].busy) {
      return Fail(ErrorCode::kHandlerError, "Collect was given a ticket that is not in flight.");
    }
    slots_[ticket].busy = false;
    return &slots_[ticket];
  }

  int device_ = 0;
  Slot slots_[kSlots];

 private:
  cudaEvent_t base_ = nullptr;  // time zero for the busy-time union
  float busy_until_ms_ = 0;
  std::chrono::microseconds device_time_{0};
};

}  // namespace batchq::cuda

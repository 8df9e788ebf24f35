#pragma once
// What every CUDA handler shares: CUDA errors as values (never exits), with
// out-of-memory given the code the batch splitter recognises, and growable buffers
// (pinned host or device) that are reused across batches.
// Included only by this folder's .cpp files (it pulls in the CUDA runtime headers).

#include <cuda_runtime_api.h>

#include <algorithm>
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
      oom ? std::string(kOutOfMemory) : std::string("cuda_error"),
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
    return Ok();
  }

  // The first slot not in flight.
  Result<int> FreeSlot() const {
    for (int i = 0; i < kSlots; ++i) {
      if (!slots_[i].busy) return i;
    }
    return Fail("handler_error", "Every launch slot is busy.");
  }

  // The slot of a launched ticket, now no longer in flight.
  Result<Slot*> TakeInFlight(int ticket) {
    if (ticket < 0 || ticket >= kSlots || !slots_[ticket].busy) {
      return Fail("handler_error", "Collect was given a ticket that is not in flight.");
    }
    slots_[ticket].busy = false;
    return &slots_[ticket];
  }

  int device_ = 0;
  Slot slots_[kSlots];
};

}  // namespace batchq::cuda

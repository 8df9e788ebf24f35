#include "gpu_worker/cuda/kernels.h"

namespace batchq::cuda {
namespace {

__device__ __forceinline__ unsigned UpperWord(unsigned word) {
  // Four bytes at once: a byte is a lower-case letter when it is in ['a', 'z'].
  unsigned out = word;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const unsigned byte = (word >> (8 * i)) & 0xFFu;
    if (byte >= 'a' && byte <= 'z') out -= 0x20u << (8 * i);
  }
  return out;
}

__global__ void UpperAsciiKernel(char* bytes, std::size_t count) {
  const std::size_t words = count / 4;
  unsigned* as_words = reinterpret_cast<unsigned*>(bytes);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < words;
       i += stride) {
    as_words[i] = UpperWord(as_words[i]);
  }
  // The tail that does not fill a word.
  const std::size_t tail =
      words * 4 + blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (tail < count) {
    const char c = bytes[tail];
    if (c >= 'a' && c <= 'z') bytes[tail] = static_cast<char>(c - 32);
  }
}

__device__ __forceinline__ std::uint64_t GlobalTimerNs() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void SpinKernel(std::int64_t nanoseconds) {
  const std::uint64_t start = GlobalTimerNs();
  while (GlobalTimerNs() - start < static_cast<std::uint64_t>(nanoseconds)) {
    __nanosleep(1000);
  }
}

}  // namespace

cudaError_t LaunchUpperAscii(char* device_bytes, std::size_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  // The device buffer comes from cudaMalloc, so it is aligned for word access.
  const std::size_t words = count / 4 + 1;
  const int blocks =
      static_cast<int>(std::min<std::size_t>((words + kThreads - 1) / kThreads, 4096));
  UpperAsciiKernel<<<blocks, kThreads, 0, stream>>>(device_bytes, count);
  return cudaGetLastError();
}

cudaError_t LaunchSpin(std::int64_t nanoseconds, cudaStream_t stream) {
  SpinKernel<<<1, 1, 0, stream>>>(nanoseconds);
  return cudaGetLastError();
}

}  // namespace batchq::cuda

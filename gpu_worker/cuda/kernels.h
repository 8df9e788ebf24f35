#pragma once
// Plain launch functions for the kernels; the only place kernels are launched is
// kernels.cu. Errors come back as cudaError_t, never as exits.

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

namespace batchq::cuda {

// Upper-cases ASCII letters of `count` bytes in device memory, in place.
cudaError_t LaunchUpperAscii(char* device_bytes, std::size_t count, cudaStream_t stream);

// Keeps one thread busy on the device for `nanoseconds` (the `sleep` cost model).
cudaError_t LaunchSpin(std::int64_t nanoseconds, cudaStream_t stream);

}  // namespace batchq::cuda

#pragma once
// cuBLAS, opened when the first MLP handler starts rather than linked. A linked cuBLAS
// is mapped and initialised in every process that links the handlers (each worker and
// each test, CPU backend or not): about 0.3 s of CPU per process start here
// (docs/BENCHMARKS.md, "The test suite's own time"), for a library that only a CUDA MLP
// handler calls. Included only by this folder's .cpp files (CUDA headers).

#include <cublas_v2.h>

#include "common/error.h"

namespace batchq::cuda {

// The cuBLAS functions the handlers call, resolved from the opened library.
struct CublasLibrary {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

// Opens cuBLAS on the first call: by its soname (the loader's path, as a container's
// LD_LIBRARY_PATH sets it), else at the toolkit's directory found at build time. Every
// call answers the first call's outcome; the library stays open for the process's life.
// Thread-safe. An error (kCudaError) names the library and what failed.
Result<const CublasLibrary*> OpenCublas();

}  // namespace batchq::cuda

#include "gpu_worker/cuda/cublas_library.h"

#include <dlfcn.h>

#include <string>

#include <fmt/format.h>

namespace batchq::cuda {
namespace {

// dlerror() answers null when nothing failed (a symbol whose value is null).
const char* LastError() {
  const char* error = dlerror();
  return error != nullptr ? error : "no error reported";
}

template <class Function>
bool Resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  return function != nullptr;
}

Result<CublasLibrary> Open() {
  void* library = dlopen(BATCHQ_CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const std::string by_name = LastError();
    library = dlopen(BATCHQ_CUBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      return std::unexpected(
          Error{ErrorCode::kCudaError, fmt::format("cuBLAS could not be opened: {}; and at {}: {}.",
                                                   by_name, BATCHQ_CUBLAS_PATH, LastError())});
    }
  }
  CublasLibrary blas;
  // The _v2 names are what cublas_v2.h's macros call.
  const bool resolved = Resolve(library, "cublasCreate_v2", blas.create) &&
                        Resolve(library, "cublasDestroy_v2", blas.destroy) &&
                        Resolve(library, "cublasSetMathMode", blas.set_math_mode) &&
                        Resolve(library, "cublasSetStream_v2", blas.set_stream) &&
                        Resolve(library, "cublasSgemm_v2", blas.sgemm) &&
                        Resolve(library, "cublasGetStatusString", blas.status_string);
  if (!resolved) {
    return std::unexpected(
        Error{ErrorCode::kCudaError,
              fmt::format("cuBLAS ({}) lacks a function: {}.", BATCHQ_CUBLAS_SONAME, LastError())});
  }
  return blas;
}

}  // namespace

Result<const CublasLibrary*> OpenCublas() {
  static const Result<CublasLibrary> opened = Open();
  if (!opened) return std::unexpected(opened.error());
  return &*opened;
}

}  // namespace batchq::cuda

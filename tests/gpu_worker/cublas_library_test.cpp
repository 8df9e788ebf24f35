// cuBLAS is opened when an MLP handler first needs it, not at process start. Needs the
// CUDA toolkit's cuBLAS, not a device, so these run wherever gpu_tests is built.
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "gpu_worker/cuda/cublas_library.h"

namespace batchq {
namespace {

bool CublasMapped() {
  std::ifstream maps("/proc/self/maps");
  const std::string text{std::istreambuf_iterator<char>(maps), std::istreambuf_iterator<char>()};
  EXPECT_FALSE(text.empty());
  return text.find("libcublas") != std::string::npos;
}

// ctest runs each test in a process of its own, so nothing else has opened it first.
TEST(CublasLibraryTest, NotMappedUntilOpenedThenEveryFunctionResolves) {
  EXPECT_FALSE(CublasMapped()) << "cuBLAS is mapped before anything asked for it";
  auto blas = cuda::OpenCublas();
  ASSERT_TRUE(blas) << blas.error().message;
  EXPECT_TRUE(CublasMapped());
  const cuda::CublasLibrary& functions = **blas;
  EXPECT_NE(functions.create, nullptr);
  EXPECT_NE(functions.destroy, nullptr);
  EXPECT_NE(functions.set_math_mode, nullptr);
  EXPECT_NE(functions.set_stream, nullptr);
  EXPECT_NE(functions.sgemm, nullptr);
  ASSERT_NE(functions.status_string, nullptr);
  // A call through the table reaches the library itself.
  EXPECT_STRNE(functions.status_string(CUBLAS_STATUS_NOT_INITIALIZED), "");
}

TEST(CublasLibraryTest, EveryCallAnswersTheSameOpenedLibrary) {
  auto first = cuda::OpenCublas();
  auto second = cuda::OpenCublas();
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*first, *second);
}

}  // namespace
}  // namespace batchq

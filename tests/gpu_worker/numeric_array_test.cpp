// Which JSON inputs are numeric arrays, with what shape, read without Python.
#include "gpu_worker/numeric_array.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using Shape = std::vector<std::size_t>;

TEST(NumericArrayTest, ReadsVectorsAndMatricesRowMajorWithTheirShape) {
  const auto vector = ParseNumericArray("[3, 4.5, -1e2]");
  ASSERT_TRUE(vector);
  EXPECT_EQ(vector->shape, Shape{3});
  EXPECT_EQ(vector->values, (std::vector<double>{3, 4.5, -100}));

  const auto matrix = ParseNumericArray("[[1,2,3],[4,5,6]]");
  ASSERT_TRUE(matrix);
  EXPECT_EQ(matrix->shape, (Shape{2, 3}));
  EXPECT_EQ(matrix->values, (std::vector<double>{1, 2, 3, 4, 5, 6}));

  const auto cube = ParseNumericArray("[[[1],[2]],[[3],[4]]]");
  ASSERT_TRUE(cube);
  EXPECT_EQ(cube->shape, (Shape{2, 2, 1}));

  const auto big = ParseNumericArray("[18446744073709551615, -9223372036854775808]");
  ASSERT_TRUE(big) << "integers of any size are read as the nearest double";
  EXPECT_EQ(big->values[0], 18446744073709551615.0);
}

TEST(NumericArrayTest, AnythingElseIsNotNumeric) {
  for (const char* json :
       {"3", R"("abc")", "{}", "[]", "[[]]", "[1, true]", "[1, null]", R"([1, "2"])", "[[1,2],[3]]",
        "[1,[2]]", "[[1],2]", "[[1,2],3]", "[1,2", "[[[[[[[[[1]]]]]]]]]"}) {
    EXPECT_FALSE(ParseNumericArray(json)) << json;
  }
  EXPECT_TRUE(ParseNumericArray("[[[[[[[[1]]]]]]]]")) << "eight levels are allowed";
}

}  // namespace
}  // namespace batchq

// The safetensors reader: a round trip, and every kind of malformed file refused
// with a sentence that names the problem.
#include <cstring>

#include <gtest/gtest.h>

#include "gpu_worker/mlp_model.h"
#include "gpu_worker/safetensors.h"

namespace batchq {
namespace {

// A file with the given JSON header and `data_bytes` zero bytes of data.
std::string FileWith(std::string_view header, std::size_t data_bytes) {
  std::string out(8, '\0');
  const std::uint64_t size = header.size();
  std::memcpy(out.data(), &size, 8);
  out += header;
  out.append(data_bytes, '\0');
  return out;
}

std::string ErrorOf(std::string bytes) {
  auto file = SafetensorsFile::Parse(std::move(bytes));
  if (file) return "parsed";
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidModel);
  return file.error().message;
}

TEST(SafetensorsTest, RoundTripKeepsNamesShapesAndValues) {
  const std::vector<NamedFloats> tensors = {{"a.weight", {2, 3}, {1, 2, 3, 4, 5, 6}},
                                            {"a.bias", {2}, {-1.5f, 0.25f}}};
  auto file = SafetensorsFile::Parse(WriteSafetensors(tensors));
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->tensors().size(), 2u);
  const auto* weight = file->Find("a.weight");
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->dtype, "F32");
  EXPECT_EQ(weight->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(*file->Floats(*weight), tensors[0].values);
  EXPECT_EQ(*file->Floats(*file->Find("a.bias")), tensors[1].values);
  EXPECT_EQ(file->Find("missing"), nullptr);
}

TEST(SafetensorsTest, MetadataIsIgnoredAndOtherDtypesAreReadableButNotAsFloats) {
  auto file = SafetensorsFile::Parse(FileWith(
      R"({"__metadata__":{"format":"pt"},"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})",
      4));
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->tensors().size(), 1u);
  EXPECT_EQ(file->Data(file->tensors()[0]).size(), 4u);
  auto floats = file->Floats(file->tensors()[0]);
  ASSERT_FALSE(floats);
  EXPECT_NE(floats.error().message.find("BF16"), std::string::npos);
}

TEST(SafetensorsTest, AnEmptyFloatTensorReadsAsNoValues) {
  // The fuzzer's find (UBSan: memcpy into an empty vector's null buffer).
  auto file = SafetensorsFile::Parse(
      FileWith(R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0));
  ASSERT_TRUE(file) << file.error().message;
  auto floats = file->Floats(file->tensors()[0]);
  ASSERT_TRUE(floats) << floats.error().message;
  EXPECT_TRUE(floats->empty());
}

TEST(SafetensorsTest, MalformedFilesAreRefusedWithTheReason) {
  EXPECT_NE(ErrorOf("abc").find("shorter than"), std::string::npos);
  std::string huge(8, '\0');
  huge[6] = 1;  // 2^48 bytes of header
  EXPECT_NE(ErrorOf(huge).find("100 MB"), std::string::npos);
  std::string past = FileWith("{}", 0);
  past[0] = 50;
  EXPECT_NE(ErrorOf(past).find("runs past the end"), std::string::npos);
  EXPECT_NE(ErrorOf(FileWith("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf(FileWith("[1,2]", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":5})", 0)).find("'x' is not a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", 4)).find("dtype"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(FileWith(R"({"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4)).find("Q7"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})", 4)).find("shape"),
      std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4))
                .find("not a size"),
            std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[1]}})", 4)).find("data_offsets"),
            std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8))
                .find("data_offsets"),
            std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8))
                .find("outside the 8 data bytes"),
            std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8))
                .find("need 12"),
            std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             12))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(ErrorOf(FileWith(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                             8))
                .find("appears twice"),
            std::string::npos);
}

TEST(SafetensorsTest, ModelsAreRefusedWhenTheirLayersDoNotFit) {
  auto model_error = [](const std::vector<NamedFloats>& tensors) {
    auto file = SafetensorsFile::Parse(WriteSafetensors(tensors));
    EXPECT_TRUE(file);
    auto model = MlpFromSafetensors(*file, Activation::kRelu);
    return model ? std::string("built") : model.error().message;
  };
  EXPECT_NE(model_error({{"l.weight", {1, 2}, {1, 2}}}).find("needs both"), std::string::npos);
  EXPECT_NE(model_error({{"l.gamma", {1}, {1}}}).find("neither"), std::string::npos);
  EXPECT_NE(model_error({{"l.weight", {2}, {1, 2}}, {"l.bias", {2}, {0, 0}}}).find("[out, in]"),
            std::string::npos);
  EXPECT_NE(model_error({{"a.weight", {2, 2}, {1, 2, 3, 4}},
                         {"a.bias", {2}, {0, 0}},
                         {"b.weight", {1, 3}, {1, 2, 3}},
                         {"b.bias", {1}, {0}}})
                .find("takes 3 inputs but the layer before gives 2"),
            std::string::npos);
  EXPECT_EQ(model_error({}), "The weights file holds no layers.");
  auto missing = SafetensorsFile::Read("/nonexistent/weights.safetensors");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("Cannot open"), std::string::npos);
}

}  // namespace
}  // namespace batchq

// The plugin ABI with the real example plugin (examples/plugin/vector_stats.c).
#include <algorithm>

#include <gtest/gtest.h>

#include "gpu_worker/plugin_handler.h"

namespace batchq {
namespace {

TEST(PluginHandlerTest, ExamplePluginServesItsTypeWithPerItemErrors) {
  auto plugin = LoadPluginHandler(BATCHQ_EXAMPLE_PLUGIN, "");
  ASSERT_TRUE(plugin) << plugin.error().message;
  EXPECT_EQ(plugin->type, "vector_stats");
  const std::vector<std::string_view> inputs = {"[1, 2, 3.5]", "\"text\"", "[]", "[-4]"};
  auto results = plugin->handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[0]->json,
            R"({"count":3,"sum":6.5,"mean":2.1666666666666665,"min":1,"max":3.5})");
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ((*results)[2]->json, R"({"count":0,"sum":0})");
  EXPECT_EQ((*results)[3]->json, R"({"count":1,"sum":-4,"mean":-4,"min":-4,"max":-4})");
}

// Says the jobs of the inputs at the listed addresses were cancelled.
class CancelledInputs : public BatchCancellation {
 public:
  explicit CancelledInputs(std::vector<const char*> cancelled) : cancelled_(std::move(cancelled)) {}
  bool Cancelled(std::string_view input) const override {
    return std::find(cancelled_.begin(), cancelled_.end(), input.data()) != cancelled_.end();
  }

 private:
  std::vector<const char*> cancelled_;
};

TEST(PluginHandlerTest, AVersion2PluginSkipsAJobCancelledWhileItsBatchRuns) {
  auto plugin = LoadPluginHandler(BATCHQ_EXAMPLE_PLUGIN, "");
  ASSERT_TRUE(plugin) << plugin.error().message;
  const std::vector<std::string_view> inputs = {"[1]", "[2]", "[3]"};
  const CancelledInputs cancellation({inputs[1].data()});
  plugin->handler->set_cancellation(&cancellation);
  auto results = plugin->handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 3u);
  EXPECT_TRUE((*results)[0]);
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kCancelled);
  EXPECT_EQ((*results)[2]->json, R"({"count":1,"sum":3,"mean":3,"min":3,"max":3})");
}

TEST(PluginHandlerTest, AVersion1PluginStillLoadsAndRuns) {
  auto plugin = LoadPluginHandler(BATCHQ_V1_PLUGIN, "");
  ASSERT_TRUE(plugin) << plugin.error().message;
  EXPECT_EQ(plugin->type, "echo_v1");
  const std::vector<std::string_view> inputs = {R"({"a":1})", "[2]"};
  const CancelledInputs cancellation({inputs[0].data()});
  plugin->handler->set_cancellation(&cancellation);
  auto results = plugin->handler->Run(inputs);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0]->json, R"({"a":1})") << "a v1 plugin is never asked, so it ran it";
  EXPECT_EQ((*results)[1]->json, "[2]");
}

TEST(PluginHandlerTest, ConfigReachesCreateAndItsRefusalIsAStartUpError) {
  auto limited = LoadPluginHandler(BATCHQ_EXAMPLE_PLUGIN, "max_len=2");
  ASSERT_TRUE(limited) << limited.error().message;
  const std::vector<std::string_view> inputs = {"[1,2]", "[1,2,3]"};
  auto results = limited->handler->Run(inputs);
  ASSERT_TRUE(results);
  EXPECT_TRUE((*results)[0]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kInvalidInput);

  auto refused = LoadPluginHandler(BATCHQ_EXAMPLE_PLUGIN, "colour=blue");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidPlugin);
  EXPECT_NE(refused.error().message.find("unknown config 'colour=blue'"), std::string::npos);
}

TEST(PluginHandlerTest, LibrariesThatAreNotPluginsAreRefused) {
  auto missing = LoadPluginHandler("/nonexistent/libnothing.so", "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidPlugin);
  // A real shared library without the entry point.
  auto not_plugin = LoadPluginHandler("libm.so.6", "");
  ASSERT_FALSE(not_plugin);
  EXPECT_NE(not_plugin.error().message.find("batchq_handler_entry"), std::string::npos);
}

}  // namespace
}  // namespace batchq

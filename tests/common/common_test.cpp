#include <gtest/gtest.h>

#include "common/job_id.h"
#include "common/job_status.h"
#include "common/json_writer.h"
#include "common/redis_connection.h"
#include "common/type_settings.h"

namespace batchq {
namespace {

TEST(JsonWriterTest, WritesNestedValuesWithCommas) {
  JsonWriter json;
  json.BeginObject().Key("a").Int(1).Key("b").BeginArray().String("x").Bool(true).Null().EndArray();
  json.Key("c").Raw(R"({"d":2})").Key("e").Double(0.5).EndObject();
  EXPECT_EQ(json.str(), R"({"a":1,"b":["x",true,null],"c":{"d":2},"e":0.5})");
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlBytes) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01") + "é");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
}

TEST(TypeSettingsTest, ParsesNameAndOverrides) {
  TypeSettings defaults;
  defaults.max_batch_size = 8;
  auto plain = ParseTypeSettings("upper", defaults);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->name, "upper");
  EXPECT_EQ(plain->max_batch_size, 8u);
  auto custom = ParseTypeSettings("sleep:max_batch_size=64,max_delay_ms=10,max_queue=5", defaults);
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->max_batch_size, 64u);
  EXPECT_EQ(custom->max_delay, std::chrono::milliseconds(10));
  EXPECT_EQ(custom->max_queue, 5u);
}

TEST(TypeSettingsTest, RejectsBadSpecs) {
  const TypeSettings defaults;
  EXPECT_FALSE(ParseTypeSettings(":max_queue=1", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_queue", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_queue=-1", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_batch_size=0", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:colour=blue", defaults));
}

TEST(JobStatusTest, RoundTripsAndKnowsTerminalStates) {
  for (auto status : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded,
                      JobStatus::kFailed, JobStatus::kCancelled, JobStatus::kExpired}) {
    EXPECT_EQ(ParseJobStatus(ToString(status)), status);
  }
  EXPECT_FALSE(ParseJobStatus("done"));
  EXPECT_FALSE(IsTerminal(JobStatus::kRunning));
  EXPECT_TRUE(IsTerminal(JobStatus::kExpired));
}

TEST(JobIdTest, IdsAreDistinctAndWellFormed) {
  const std::string a = NewJobId();
  const std::string b = NewJobId();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(LooksLikeJobId(a));
  EXPECT_FALSE(LooksLikeJobId("../etc"));
  EXPECT_FALSE(LooksLikeJobId(""));
}

TEST(RedisUrlTest, ParsesTcpAndUnixUrls) {
  auto tcp = ParseRedisUrl("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->host, "10.0.0.5");
  EXPECT_EQ(tcp->port, 6380);
  EXPECT_EQ(tcp->db, 2);
  auto unix_url = ParseRedisUrl("unix:///run/redis.sock");
  ASSERT_TRUE(unix_url);
  EXPECT_EQ(unix_url->unix_path, "/run/redis.sock");
  EXPECT_FALSE(ParseRedisUrl("http://x"));
  EXPECT_FALSE(ParseRedisUrl("redis://host:notaport"));
}

}  // namespace
}  // namespace batchq

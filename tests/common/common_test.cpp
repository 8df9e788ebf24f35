#include <unistd.h>

#include <ctime>
#include <limits>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "common/decimal_text.h"
#include "common/job_id.h"
#include "common/job_record.h"
#include "common/job_status.h"
#include "common/json_writer.h"
#include "common/redis_connection.h"
#include "common/resp_command.h"
#include "common/type_settings.h"
#include "common/wall_clock.h"

namespace batchq {
namespace {

TEST(JsonWriterTest, WritesNestedValuesWithCommas) {
  JsonWriter json;
  json.BeginObject().Key("a").Int(1).Key("b").BeginArray().String("x").Bool(true).Null().EndArray();
  json.Key("c").Raw(R"({"d":2})").Key("e").Double(0.5).EndObject();
  EXPECT_EQ(json.str(), R"({"a":1,"b":["x",true,null],"c":{"d":2},"e":0.5})");
}

TEST(DecimalTextTest, WritesEveryIntegerTypeWhole) {
  EXPECT_EQ(DecimalText(0).view(), "0");
  EXPECT_EQ(DecimalText(-42).view(), "-42");
  EXPECT_EQ(DecimalText(std::size_t{300000}).view(), "300000");
  EXPECT_EQ(DecimalText(std::numeric_limits<std::int64_t>::min()).view(), "-9223372036854775808");
  EXPECT_EQ(DecimalText(std::numeric_limits<std::uint64_t>::max()).view(), "18446744073709551615");
}

TEST(JsonWriterTest, WritesEveryIntegerWhole) {
  JsonWriter json;
  json.BeginArray().Int(0).Int(-7).Int(1'700'000'000'000'000);
  json.Int(std::numeric_limits<std::int64_t>::max()).Int(std::numeric_limits<std::int64_t>::min());
  json.EndArray();
  EXPECT_EQ(json.str(), "[0,-7,1700000000000000,9223372036854775807,-9223372036854775808]");
}

TEST(JsonWriterTest, CommasFollowEachContainerOfADeepNestingAndDeeperIsABug) {
  // Every level holds a number, then the next level: each level's comma is its own.
  JsonWriter json(16);
  std::string expected;
  for (int level = 0; level < JsonWriter::kMaxDepth; ++level) {
    json.BeginArray().Int(level);
    expected += "[" + std::to_string(level) + ",";
  }
  expected.pop_back();
  EXPECT_THROW(json.BeginArray(), std::logic_error);
  for (int level = 0; level < JsonWriter::kMaxDepth; ++level) {
    json.EndArray();
    expected += "]";
  }
  EXPECT_THROW(json.EndArray(), std::logic_error);
  EXPECT_EQ(json.str(), expected);
  JsonWriter after;  // A container closed, then another opened at the same depth.
  after.BeginArray().BeginArray().Int(1).EndArray().BeginArray().Int(2).EndArray().EndArray();
  after.BeginObject().EndObject();
  EXPECT_EQ(after.str(), "[[1],[2]]{}");
}

TEST(JsonWriterTest, WritesANameAsItIsAndAKeyThatIsDataEscaped) {
  JsonWriter json;
  json.BeginObject().Key("status").String("ok").KeyText("x\"y\n").Int(2).EndObject();
  EXPECT_EQ(json.str(), R"({"status":"ok","x\"y\n":2})");
}

TEST(JsonWriterTest, ANameIsPlainTextOnlyWithoutQuotesBackslashesOrControlBytes) {
  // The rule JsonName's constructor applies when the build compiles each name.
  EXPECT_TRUE(IsPlainJsonText("finished_at"));
  EXPECT_TRUE(IsPlainJsonText("Retry-After é"));
  EXPECT_TRUE(IsPlainJsonText(""));
  for (const char* bad : {"a\"b", "a\\b", "a\nb", "\x1f", "tab\t"}) {
    EXPECT_FALSE(IsPlainJsonText(bad)) << bad;
  }
  static_assert(IsPlainJsonText("id") && !IsPlainJsonText("i\"d"));
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlBytes) {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01") + "é");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
}

TEST(JsonWriterTest, EscapesEveryByteAsTheByteAtATimeRuleSays) {
  // The rule, a byte at a time: the writer appends runs whole and must agree.
  const auto reference = [](std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
        out += c == '\n'   ? "\\n"
               : c == '\r' ? "\\r"
               : c == '\t' ? "\\t"
               : c == '\b' ? "\\b"
                           : "\\f";
      } else if (byte < 0x20) {
        out += fmt::format("\\u{:04x}", byte);
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  std::mt19937 random(7);
  std::uniform_int_distribution<int> length(0, 40);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> plain(0, 3);
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    for (int n = length(random); n > 0; --n) {
      // Mostly plain bytes, so that runs of them sit between escapes.
      text.push_back(static_cast<char>(plain(random) > 0 ? 'a' + n % 26 : byte(random)));
    }
    std::string out = "prefix";
    AppendJsonString(out, text);
    ASSERT_EQ(out, "prefix" + reference(text)) << i;
  }
}

TEST(JsonWriterTest, APlainPrefixEndsAtTheFirstByteTheRuleEscapesWhereverItSits) {
  // Every byte value at every place of three words and a tail, among plain bytes that
  // sit next to the escaped ones (0x1f's neighbours, '"' and '\\' and theirs, UTF-8).
  const std::string filler =
      "\x20!#[]\x7f\x80\xff\xc3\xa9"
      "a";
  for (std::size_t length : {0u, 1u, 7u, 8u, 9u, 23u, 24u, 29u}) {
    std::string text;
    for (std::size_t i = 0; i < length; ++i) text.push_back(filler[i % filler.size()]);
    ASSERT_EQ(PlainJsonPrefix(text), length);
    for (std::size_t at = 0; at < length; ++at) {
      for (int value = 0; value < 256; ++value) {
        std::string probe = text;
        probe[at] = static_cast<char>(value);
        const bool plain = IsPlainJsonByte(static_cast<unsigned char>(value));
        ASSERT_EQ(PlainJsonPrefix(probe), plain ? length : at)
            << length << " " << at << " " << value;
      }
    }
  }
}

TEST(WallClockTest, FormatRfc3339AgreesWithGmtime) {
  const auto reference = [](std::int64_t micros) {
    const std::time_t seconds = micros / 1'000'000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900,
                       utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                       micros % 1'000'000);
  };
  EXPECT_EQ(FormatRfc3339(WallMicros(0)), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(WallMicros(951'782'400'000'001)), "2000-02-29T00:00:00.000001Z");
  std::vector<std::int64_t> times{946'684'799'999'999, 4'102'444'799'999'999};
  std::mt19937_64 random(11);
  // 1970 to about 2400, leap days and year ends among them.
  std::uniform_int_distribution<std::int64_t> any(0, 13'569'465'600'000'000);
  for (int i = 0; i < 5000; ++i) times.push_back(any(random));
  for (const std::int64_t micros : times) {
    ASSERT_EQ(FormatRfc3339(WallMicros(micros)), reference(micros)) << micros;
  }
}

TEST(WallClockTest, AYearOfFiveDigitsIsWrittenWhole) {
  EXPECT_EQ(Rfc3339Text(WallMicros(253'402'300'800'000'001)).view(),
            "10000-01-01T00:00:00.000001Z");
}

TEST(JobRecordTest, SetsEachFieldByItsNameAndNoFieldByAnotherName) {
  const auto text_of = [](const RecordFieldSpec& spec) {
    if (spec.field == RecordField::kStatus) return std::string("succeeded");
    if (std::holds_alternative<std::string JobRecord::*>(spec.member)) {
      return std::string(spec.name) + "-v";
    }
    return std::string("42");
  };
  const auto texts = [](const JobRecord& record) {
    std::vector<std::string> out;
    for (const auto& spec : kRecordSchema) out.push_back(FieldText(record, spec.field));
    return out;
  };
  const auto untouched = texts(JobRecord{});
  for (const auto& spec : kRecordSchema) {
    JobRecord record;
    SetField(record, spec.name, text_of(spec));
    auto want = untouched;
    want[static_cast<std::size_t>(spec.field)] = text_of(spec);
    EXPECT_EQ(texts(record), want) << spec.name;
    // Names that are not the field's, among them some that share its length and its
    // first and last bytes (what the lookup hashes), set nothing.
    std::string inner(spec.name);
    inner[inner.size() / 2] = '%';
    for (const std::string& other :
         {inner, std::string(spec.name) + "_", "x" + std::string(spec.name),
          std::string(spec.name.substr(0, spec.name.size() - 1)), std::string()}) {
      JobRecord unset;
      SetField(unset, other, text_of(spec));
      EXPECT_EQ(texts(unset), untouched) << other;
    }
  }
}

TEST(RespCommandTest, WritesWhatHiredisFormats) {
  const auto hiredis = [](const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    char* formatted = nullptr;
    const int size = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), argv.data(),
                                            lengths.data());
    std::string out(formatted, static_cast<std::size_t>(size));
    redisFreeCommand(formatted);
    return out;
  };
  std::mt19937 random(3);
  std::uniform_int_distribution<int> count(1, 30);
  std::uniform_int_distribution<int> length(0, 300);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string ours;
  std::string theirs;
  std::vector<std::vector<std::string>> all_args;
  for (int i = 0; i < 300; ++i) {
    // Binary arguments, empty ones and "\r\n" inside them among the rest.
    std::vector<std::string> args{"HSET"};
    for (int n = count(random); n > 0; --n) {
      std::string arg;
      for (int b = length(random) % (n % 4 == 0 ? 1 : 301); b > 0; --b) {
        arg.push_back(static_cast<char>(byte(random)));
      }
      args.push_back(std::move(arg));
    }
    const std::vector<std::string_view> views(args.begin(), args.end());
    const std::size_t before = ours.size();
    AppendRespCommand(ours, views);
    EXPECT_EQ(ours.size() - before, RespCommandSize(views)) << "command " << i;
    theirs += hiredis(args);
    ASSERT_EQ(ours, theirs) << "command " << i;
    all_args.push_back(std::move(args));
  }
  // A pipeline's buffer: the same commands, appended all at once after what it held.
  std::vector<std::vector<std::string_view>> commands;
  for (const auto& args : all_args) commands.emplace_back(args.begin(), args.end());
  std::string pipeline = "held|";
  AppendRespCommands(pipeline, commands);
  EXPECT_EQ(pipeline, "held|" + theirs);
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
  EXPECT_EQ(custom->max_run, std::chrono::milliseconds(0)) << "automatic unless given";
  auto max_run = ParseTypeSettings("render:max_run_ms=90000", defaults);
  ASSERT_TRUE(max_run);
  EXPECT_EQ(max_run->max_run, std::chrono::milliseconds(90000));
  auto retries = ParseTypeSettings("render:max_retries=4,retry_backoff_ms=250", defaults);
  ASSERT_TRUE(retries);
  EXPECT_EQ(retries->max_retries, 4u);
  EXPECT_EQ(retries->retry_backoff, std::chrono::milliseconds(250));
  EXPECT_EQ(plain->max_retries, 0u) << "no retries unless asked";
  EXPECT_FALSE(ParseTypeSettings("x:max_retries=21", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:retry_backoff_ms=0", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:retry_backoff_ms=3600001", defaults));
}

TEST(ErrorCodeTest, OnlyPassingFailuresAreRetryable) {
  EXPECT_TRUE(IsRetryable(ErrorCode::kTransientError));
  EXPECT_TRUE(IsRetryable(ErrorCode::kDeviceOutOfMemory));
  EXPECT_FALSE(IsRetryable(ErrorCode::kInvalidInput));
  EXPECT_FALSE(IsRetryable(ErrorCode::kHandlerError));
  EXPECT_FALSE(IsRetryable(ErrorCode::kCancelled));
  EXPECT_EQ(ParseErrorCode("transient_error"), ErrorCode::kTransientError);
  EXPECT_EQ(HttpStatus(ErrorCode::kNotRetryable), 409);
}

TEST(TypeSettingsTest, RejectsBadSpecs) {
  const TypeSettings defaults;
  EXPECT_FALSE(ParseTypeSettings(":max_queue=1", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_queue", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_queue=-1", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_queue=12abc", defaults));
  EXPECT_FALSE(ParseTypeSettings("x:max_queue=", defaults));
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

TEST(RedisUrlTest, ParsesSentinelUrls) {
  auto url = ParseRedisUrl("redis-sentinel://gateway:p%40w@s1:26380,10.0.0.2,s3:26381/batchq/3");
  ASSERT_TRUE(url) << url.error().message;
  ASSERT_EQ(url->sentinels.size(), 3u);
  EXPECT_EQ(url->sentinels[0].host, "s1");
  EXPECT_EQ(url->sentinels[0].port, 26380);
  EXPECT_EQ(url->sentinels[1].host, "10.0.0.2");
  EXPECT_EQ(url->sentinels[1].port, 26379) << "Sentinel's own port when none is given";
  EXPECT_EQ(url->sentinels[2].port, 26381);
  EXPECT_EQ(url->master_name, "batchq");
  EXPECT_EQ(url->db, 3);
  EXPECT_EQ(url->user, "gateway");
  EXPECT_EQ(url->password, "p@w");
  auto bare = ParseRedisUrl("redis-sentinel://127.0.0.1:26379/mymaster");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->master_name, "mymaster");
  EXPECT_EQ(bare->db, 0);
  for (const char* bad : {"redis-sentinel://s1:26379", "redis-sentinel://s1:26379/",
                          "redis-sentinel:///batchq", "redis-sentinel://s1:0/batchq",
                          "redis-sentinel://s1,,s2/batchq", "redis-sentinel://s1/batchq/x"}) {
    auto refused = ParseRedisUrl(bad);
    EXPECT_FALSE(refused) << bad;
    if (!refused) {
      EXPECT_EQ(refused.error().code, ErrorCode::kInvalidRedisUrl) << bad;
    }
  }
}

TEST(RedisUrlTest, ParsesUserAndPassword) {
  auto both = ParseRedisUrl("redis://worker:s%40cret:x@redis:6379/1");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->user, "worker");
  EXPECT_EQ(both->password, "s@cret:x");
  EXPECT_EQ(both->host, "redis");
  EXPECT_EQ(both->db, 1);
  auto password_only = ParseRedisUrl("redis://:pw@127.0.0.1:6380");
  ASSERT_TRUE(password_only);
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "pw");
  auto user_only = ParseRedisUrl("redis://gateway@127.0.0.1");
  ASSERT_TRUE(user_only);
  EXPECT_EQ(user_only->user, "gateway");
  EXPECT_EQ(user_only->password, "");
  EXPECT_EQ(user_only->port, 6379);
  EXPECT_FALSE(ParseRedisUrl("redis://u:bad%4@host"));
  EXPECT_FALSE(ParseRedisUrl("redis://u:bad%zz@host"));
}

TEST(RedisUrlTest, APasswordFileReplacesTheUrlsPassword) {
  char path[] = "/tmp/batchq-password-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "from-file\n", 10), 10);
  close(fd);
  auto endpoint = ResolveRedisEndpoint("redis://gateway:from-url@h:1", path);
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->user, "gateway");
  EXPECT_EQ(endpoint->password, "from-file");
  unlink(path);
  auto missing = ResolveRedisEndpoint("redis://h:1", "/nonexistent/password");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIoError);
}

}  // namespace
}  // namespace batchq

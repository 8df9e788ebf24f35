#include "common/log_format.h"

#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/details/log_msg.h>

#include "common/log_context.h"

namespace batchq {
namespace {

std::string Format(spdlog::formatter& formatter, std::string_view text,
                   spdlog::level::level_enum level = spdlog::level::warn) {
  const spdlog::details::log_msg msg("broker", level,
                                     spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  return std::string(out.data(), out.size());
}

struct Fields {
  std::string level, process, msg, batch_id, job_id, ts;
  bool parsed = false;
};

Fields ParseJsonLine(const std::string& line) {
  Fields f;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (line.empty() || line.back() != '\n') return f;
  if (parser.parse(line).get(root) != simdjson::SUCCESS) return f;
  auto text = [&](const char* key) {
    std::string_view value;
    return root[key].get(value) == simdjson::SUCCESS ? std::string(value) : std::string();
  };
  f.level = text("level");
  f.process = text("process");
  f.msg = text("msg");
  f.batch_id = text("batch_id");
  f.job_id = text("job_id");
  f.ts = text("ts");
  f.parsed = true;
  return f;
}

TEST(LogFormatTest, JsonLineEscapesTheMessageAndCarriesTheContextIds) {
  auto formatter = MakeJsonLogFormatter("broker");
  const std::string tricky = "quote \" backslash \\ newline \n tab \t end";
  Fields plain = ParseJsonLine(Format(*formatter, tricky));
  ASSERT_TRUE(plain.parsed);
  EXPECT_EQ(plain.msg, tricky);
  EXPECT_EQ(plain.level, "warning");
  EXPECT_EQ(plain.process, "broker");
  EXPECT_EQ(plain.ts.size(), std::string("2026-11-22T04:57:56.217123Z").size()) << plain.ts;
  EXPECT_EQ(plain.batch_id, "");
  EXPECT_EQ(plain.job_id, "");
  {
    const ScopedLogContext batch("b-1");
    Fields in_batch = ParseJsonLine(Format(*formatter, "batch line"));
    EXPECT_EQ(in_batch.batch_id, "b-1");
    EXPECT_EQ(in_batch.job_id, "");
    {
      // An inner job scope keeps the batch.
      const ScopedLogContext job({}, "j-7");
      Fields in_job = ParseJsonLine(Format(*formatter, "job line"));
      EXPECT_EQ(in_job.batch_id, "b-1");
      EXPECT_EQ(in_job.job_id, "j-7");
    }
    EXPECT_EQ(ParseJsonLine(Format(*formatter, "after job")).job_id, "");
  }
  Fields after = ParseJsonLine(Format(*formatter, "after batch"));
  EXPECT_EQ(after.batch_id, "");
}

TEST(LogFormatTest, TextLineEndsWithTheContextIds) {
  auto formatter = MakeTextLogFormatter();
  const std::string bare = Format(*formatter, "no context", spdlog::level::info);
  EXPECT_NE(bare.find(" info no context\n"), std::string::npos) << bare;
  const ScopedLogContext context("b-2", "j-3");
  const std::string line = Format(*formatter, "with context", spdlog::level::info);
  EXPECT_NE(line.find("with context batch=b-2 job=j-3\n"), std::string::npos) << line;
}

TEST(LogFormatTest, ContextIsPerThread) {
  const ScopedLogContext context("b-main");
  std::string seen = "unset";
  std::thread other([&] { seen = std::string(CurrentLogContext().batch_id); });
  other.join();
  EXPECT_EQ(seen, "");
  EXPECT_EQ(CurrentLogContext().batch_id, "b-main");
}

}  // namespace
}  // namespace batchq

#include "common/log_format.h"

#include <unistd.h>

#include <chrono>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>

#include "common/json_writer.h"
#include "common/log_context.h"

namespace batchq {
namespace {

// Appends " batch=… job=…" for the ids the thread's LogContext holds (%& in the pattern).
class ContextFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const LogContext& context = CurrentLogContext();
    if (!context.batch_id.empty()) {
      fmt::format_to(std::back_inserter(dest), " batch={}", context.batch_id);
    }
    if (!context.job_id.empty())
      fmt::format_to(std::back_inserter(dest), " job={}", context.job_id);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ContextFlag>();
  }
};

class JsonLogFormatter final : public spdlog::formatter {
 public:
  explicit JsonLogFormatter(std::string process) : process_(std::move(process)), pid_(getpid()) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto micros =
        std::chrono::time_point_cast<std::chrono::microseconds>(msg.time).time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(micros);
    const std::chrono::sys_seconds at{seconds};
    JsonWriter json;
    json.BeginObject();
    json.Key("ts").String(
        fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", at, (micros - seconds).count()));
    const auto level = spdlog::level::to_string_view(msg.level);
    json.Key("level").String(std::string_view(level.data(), level.size()));
    json.Key("process").String(process_);
    json.Key("pid").Int(pid_);
    json.Key("msg").String(std::string_view(msg.payload.data(), msg.payload.size()));
    const LogContext& context = CurrentLogContext();
    if (!context.batch_id.empty()) json.Key("batch_id").String(context.batch_id);
    if (!context.job_id.empty()) json.Key("job_id").String(context.job_id);
    json.EndObject();
    const std::string line = json.Take();
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>(process_);
  }

 private:
  const std::string process_;
  const int pid_;
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeTextLogFormatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<ContextFlag>('&').set_pattern("%Y-%m-%d %H:%M:%S.%e %n[%P] %^%l%$ %v%&");
  return formatter;
}

std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter(std::string_view process) {
  return std::make_unique<JsonLogFormatter>(std::string(process));
}

}  // namespace batchq

#include "gateway/storage_watch.h"

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/thread_name.h"

namespace batchq {
namespace {

std::optional<std::uint64_t> InfoField(std::string_view info, std::string_view name) {
  for (std::size_t start = 0; start < info.size();) {
    const auto end = std::min(info.find('\n', start), info.size());
    std::string_view line = info.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':') {
      const std::string_view text = line.substr(name.size() + 1);
      std::uint64_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<RedisMemory> ParseRedisMemory(std::string_view info) {
  const auto used = InfoField(info, "used_memory");
  const auto max = InfoField(info, "maxmemory");
  if (!used || !max) {
    return Fail(ErrorCode::kInvalidRequest,
                "INFO memory lacks a numeric used_memory or maxmemory field.");
  }
  return RedisMemory{*used, *max};
}

std::optional<std::string> StorageFullReason(const RedisMemory& memory, double full_ratio,
                                             bool was_full) {
  if (memory.maxmemory == 0) return std::nullopt;
  const double used = static_cast<double>(memory.used);
  const double max = static_cast<double>(memory.maxmemory);
  const double threshold = was_full ? full_ratio - kRoomMargin : full_ratio;
  if (used < threshold * max) return std::nullopt;
  return fmt::format(
      "Redis uses {:.0f} MiB of its maxmemory of {:.0f} MiB ({:.0f}%, the limit for new jobs is "
      "{:.0f}%); jobs already accepted still finish.",
      used / (1 << 20), max / (1 << 20), 100 * used / max, 100 * full_ratio);
}

std::chrono::milliseconds StorageWatchInterval(const std::optional<RedisMemory>& memory,
                                               double full_ratio, std::chrono::milliseconds fast,
                                               std::chrono::milliseconds slow) {
  if (!memory) return fast;
  if (memory->maxmemory == 0) return slow;
  const double half_mark = full_ratio / 2 * static_cast<double>(memory->maxmemory);
  return static_cast<double>(memory->used) < half_mark ? slow : fast;
}

StorageWatch::StorageWatch(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] {
    NameThisThread("storage-watch");
    Loop();
  });
}

StorageWatch::~StorageWatch() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stopped_.notify_one();
  thread_.join();
}

std::optional<std::string> StorageWatch::FullReason() const {
  std::lock_guard lock(mutex_);
  return full_reason_;
}

void StorageWatch::Loop() {
  RedisConnection redis(options_.redis);
  bool warned_unlimited = false;
  for (;;) {
    std::optional<std::string> reason;
    std::optional<RedisMemory> read;
    if (auto reply = redis.Command({"INFO", "memory"}); reply && !reply->is_error()) {
      if (auto memory = ParseRedisMemory(reply->str)) {
        read = *memory;
        reason = StorageFullReason(*memory, options_.full_ratio, FullReason().has_value());
        if (memory->maxmemory == 0 && !warned_unlimited) {
          spdlog::warn(
              "Redis has no maxmemory: it cannot say when it is full, and the "
              "system decides what happens when memory runs out");
          warned_unlimited = true;
        }
      }
    }
    const auto interval = StorageWatchInterval(read, options_.full_ratio, options_.fast_interval,
                                               options_.slow_interval);
    {
      std::unique_lock lock(mutex_);
      if (reason.has_value() != full_reason_.has_value()) {
        if (reason) {
          spdlog::warn("new jobs refused with storage_full: {}", *reason);
        } else {
          spdlog::info("Redis has room again: new jobs are taken");
        }
      }
      full_reason_ = std::move(reason);
      if (stopped_.wait_for(lock, interval, [this] { return stop_; })) return;
    }
  }
}

}  // namespace batchq

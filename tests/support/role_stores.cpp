#include "tests/support/role_stores.h"

#include <atomic>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace batchq::test {

RoleStores::RoleStores(const Stack& stack)
    : gateway_redis(RoleRedis(stack, "gateway")),
      broker_redis(RoleRedis(stack, "broker")),
      worker_redis(RoleRedis(stack, "worker")),
      gateway(gateway_redis, {}),
      broker(broker_redis, {}),
      worker(worker_redis, {}) {}

std::uint64_t RoleStores::Epoch() {
  auto text = broker_redis.Command({"GET", broker.epoch_key()});
  if (!text || text->kind != RedisReply::Kind::kString) {
    throw std::runtime_error("Redis holds no broker epoch");
  }
  return std::stoull(text->str);
}

std::int64_t CommandCalls(RedisConnection& admin, std::string_view command,
                          std::string_view count) {
  auto info = admin.Command({"INFO", "commandstats"});
  if (!info || info->is_error()) throw std::runtime_error("INFO commandstats failed");
  // "cmdstat_publish:calls=3,usec=...,rejected_calls=0,failed_calls=0"
  const auto line = info->str.find(fmt::format("cmdstat_{}:", command));
  if (line == std::string::npos) return 0;
  const std::string_view rest =
      std::string_view(info->str).substr(line, info->str.find('\n', line) - line);
  // The field named `count` exactly: "calls" is also the end of "rejected_calls".
  for (auto at = rest.find(count); at != std::string_view::npos; at = rest.find(count, at + 1)) {
    const bool named =
        (rest[at - 1] == ':' || rest[at - 1] == ',') && rest.substr(at + count.size(), 1) == "=";
    if (named) return std::stoll(std::string(rest.substr(at + count.size() + 1)));
  }
  return 0;
}

NewJob AcmeUpperJob(std::string_view prefix, std::uint32_t max_retries) {
  static std::atomic<int> made{0};
  NewJob job;
  job.id = fmt::format("{}-{}-{}", prefix, NowWallMicros().count(), ++made);
  job.type = "upper";
  job.tenant = "acme";
  job.input = "\"x\"";
  job.max_retries = max_retries;
  job.created = NowWallMicros();
  return job;
}

}  // namespace batchq::test

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

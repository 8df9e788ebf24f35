#include "tests/support/role_stores.h"

#include <stdexcept>
#include <string>

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

}  // namespace batchq::test

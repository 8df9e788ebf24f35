#pragma once

// The stack's Redis as its three processes see it: one connection per role, each logged
// in with that role's password file, and a JobStore over each. Tests that drive the
// stores' scripts directly (the fencing, the accounts, the webhook queue, the carried
// records) need all three, since each role's ACL user allows different commands.

#include <cstdint>
#include <string_view>

#include "common/job_store.h"
#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace batchq::test {

// Not copyable or movable: each store refers to the connection beside it. Members are
// public so that a test can bind them by name:
//   auto& [gateway_redis, broker_redis, worker_redis, gateway, broker, worker] = roles;
// Throws when a role's connection cannot be resolved.
struct RoleStores {
  explicit RoleStores(const Stack& stack);
  RoleStores(const RoleStores&) = delete;
  RoleStores& operator=(const RoleStores&) = delete;

  // The broker epoch now current, as a batch's start and finish must carry it; throws
  // when Redis holds none.
  std::uint64_t Epoch();

  RedisConnection gateway_redis;
  RedisConnection broker_redis;
  RedisConnection worker_redis;
  JobStore gateway;
  JobStore broker;
  JobStore worker;
};

// Redis's count of calls of `command` (lower case, as INFO names it: "publish",
// "evalsha") so far, those of scripts included (INFO commandstats): `count` "calls"
// (those run) or "rejected_calls" (refused before running: an ACL's NOPERM). Throws when
// Redis does not answer.
std::int64_t CommandCalls(RedisConnection& admin, std::string_view command,
                          std::string_view count = "calls");

// A new `upper` job of tenant "acme" with input "x", as the gateway creates one; its id
// starts with `prefix` and is unique within this process.
NewJob AcmeUpperJob(std::string_view prefix, std::uint32_t max_retries = 0);

}  // namespace batchq::test

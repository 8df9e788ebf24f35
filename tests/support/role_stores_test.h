#pragma once

// The fixture of tests that drive the stores' scripts themselves: a stack without workers
// (its Redis under the roles' ACL users, and a broker that set the epoch), the three
// roles' stores over it (role_stores.h) and an operator's connection (Redis's default
// user). A fixture that sets up more calls SetUp first.

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/job_record.h"
#include "common/redis_connection.h"
#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {

class RoleStoresTest : public ::testing::Test {
 protected:
  RoleStoresTest() : stack_(StackOptions{.workers = 0}) {}
  void SetUp() override {
    ASSERT_TRUE(stack_.WaitReady(0)) << stack_.Logs();
    roles_ = std::make_unique<RoleStores>(stack_);
    admin_ =
        std::make_unique<RedisConnection>(RedisConnection::Options{stack_.redis_admin_endpoint()});
  }
  // Job `id`'s record as the gateway reads it; a failure, and an empty record, if none.
  JobRecord Read(const std::string& id) {
    auto record = roles_->gateway.Get(id);
    if (!record || !*record) {
      ADD_FAILURE() << id << " has no record";
      return {};
    }
    return **record;
  }

  Stack stack_;
  std::unique_ptr<RoleStores> roles_;
  std::unique_ptr<RedisConnection> admin_;
};

}  // namespace batchq::test

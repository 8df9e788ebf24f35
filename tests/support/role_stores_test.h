#pragma once

// The fixture of tests that drive the stores' scripts themselves: a stack without workers
// (its Redis under the roles' ACL users, and a broker that set the epoch) and the three
// roles' stores over it (role_stores.h). A fixture that sets up more calls SetUp first.

#include <memory>

#include <gtest/gtest.h>

#include "tests/support/role_stores.h"
#include "tests/support/stack.h"

namespace batchq::test {

class RoleStoresTest : public ::testing::Test {
 protected:
  RoleStoresTest() : stack_(StackOptions{.workers = 0}) {}
  void SetUp() override {
    ASSERT_TRUE(stack_.WaitReady(0)) << stack_.Logs();
    roles_ = std::make_unique<RoleStores>(stack_);
  }

  Stack stack_;
  std::unique_ptr<RoleStores> roles_;
};

}  // namespace batchq::test

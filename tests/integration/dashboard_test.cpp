// The dashboard page in a real headless Chromium against a real stack: the browser
// script (tests/ui/dashboard_test.mjs, playwright-core driving Debian's chromium)
// checks the page; this test starts the stack, gives it some traffic and checks that
// the browser saw the workers the broker knows.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/stack.h"

namespace batchq::test {
namespace {

TEST(DashboardTest, ShowsLiveWorkersAndRunsAJobSubmittedFromTheForm) {
  Stack stack({.workers = 2});
  ASSERT_TRUE(stack.WaitReady(2)) << stack.Logs();
  auto client = stack.Client();
  // Traffic before the page opens, so the recent list and charts start with content.
  std::string jobs;
  for (int i = 0; i < 24; ++i) {
    jobs += fmt::format(R"({}{{"type":"upper","input":"job {}"}})", i > 0 ? "," : "", i);
  }
  auto batch = client->PostJson("/v1/jobs:batch", R"({"jobs":[)" + jobs + "]}");
  ASSERT_TRUE(batch && batch->status == 202);

  std::string out;
  const int rc = RunCommand({BATCHQ_NODE, BATCHQ_UI_TEST_SCRIPT, stack.url(),
                             stack.admin_key_file(), BATCHQ_UI_SCREENSHOT},
                            &out, std::chrono::seconds(120));
  ASSERT_EQ(rc, 0) << out << "\n" << stack.Logs();
  EXPECT_NE(out.find(R"("workers":["w0","w1"])"), std::string::npos) << out;
}

}  // namespace
}  // namespace batchq::test

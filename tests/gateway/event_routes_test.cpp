// EventRoutes with a progress demand (progress_demand.h): a new stream is answered only
// once the progress channel flows, so that it misses no job queued or started after its
// headers; it waits off the calling thread.
#include "gateway/event_routes.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/gateway/gateway_fakes.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

class EventRoutesTest : public ::testing::Test {
 protected:
  // A test that failed before the channel flowed must not leave a stream waiting an hour.
  ~EventRoutesTest() override { demand_.Flowing(true); }
  // Waits (at most 10 s) for the answer; its status, 0 when none came.
  int Answered() {
    std::unique_lock lock(mutex_);
    answered_.wait_for(lock, 10s, [this] { return status_ != 0; });
    return status_;
  }
  static HttpRequestIn TenantStream() {
    HttpRequestIn request;
    request.method = "GET";
    request.path = "/v1/events";
    return request;
  }
  static Caller Tenant() {
    Caller caller;
    caller.tenant = "t";
    return caller;
  }
  Respond Recorder() {
    return [this](HttpReply reply) {
      std::lock_guard lock(mutex_);
      status_ = reply.status;
      answered_on_ = std::this_thread::get_id();
      answered_.notify_all();
    };
  }

  // First, so that they outlive the blocking thread that answers through them.
  std::mutex mutex_;
  std::condition_variable answered_;
  int status_ = 0;
  std::thread::id answered_on_;
  test::FakeStore store_;
  JobEventHub hub_{
      [](std::span<const std::string> ids) -> Result<std::vector<std::optional<JobRecord>>> {
        return std::vector<std::optional<JobRecord>>(ids.size());
      },
      1h};
  std::atomic<int> wakes_{0};
  // The listener, woken, does nothing until the test says the channel flows.
  ProgressDemand demand_{30s, [this] { ++wakes_; }};
  BlockingCalls blocking_{{.threads = 1, .max_queued = 4}};
  EventRoutes routes_{
      {.blocking = &blocking_, .progress = &demand_, .progress_wait = 1h}, store_, hub_};
};

TEST_F(EventRoutesTest, ATenantStreamIsAnsweredOnlyOnceTheProgressChannelFlows) {
  routes_.TenantEvents(TenantStream(), Tenant(), Recorder());
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(status_, 0) << "answered before the channel flowed";
  }
  EXPECT_GE(wakes_.load(), 1) << "the listener was not asked to subscribe";
  demand_.Flowing(true);
  EXPECT_EQ(Answered(), 200);
}

TEST_F(EventRoutesTest, WhileItFlowsAStreamIsAnsweredAtOnceWithoutWakingTheListener) {
  demand_.Flowing(true);
  routes_.TenantEvents(TenantStream(), Tenant(), Recorder());
  EXPECT_EQ(Answered(), 200);
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(EventRoutesTest, WhileTheChannelIsRefusedAStreamIsAnsweredAtOnceOnTheCallingThread) {
  // An ACL from before the channel: waiting for a confirmation would only delay it.
  demand_.Refused(true);
  routes_.TenantEvents(TenantStream(), Tenant(), Recorder());
  EXPECT_EQ(Answered(), 200);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(answered_on_, std::this_thread::get_id()) << "it went to wait on a blocking thread";
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(EventRoutesTest, AJobStreamOpenedOnABlockingThreadWaitsThereForTheChannel) {
  JobRecord job;
  job.id = "j1";
  job.type = "upper";
  job.tenant = "t";
  store_.records["j1"] = job;
  // As JobApi calls it: on a blocking thread, since it reads the job first.
  ASSERT_TRUE(blocking_.Run([this] { routes_.JobEvents("j1", "", Tenant(), Recorder()); }));
  // The stream waits for the channel (the listener was asked to subscribe) ...
  for (int i = 0; i < 10000 && wakes_.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_GE(wakes_.load(), 1);
  // ... and starts once it flows, from the same call: no second call queued to wait.
  demand_.Flowing(true);
  EXPECT_EQ(Answered(), 200);
  blocking_.Stop();  // every call queued has run and returned
  EXPECT_EQ(blocking_.counts().ran, 1u);
}

}  // namespace
}  // namespace batchq

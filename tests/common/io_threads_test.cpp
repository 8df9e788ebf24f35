// IoThreads with real threads: each context is run by a thread of its own, Here() on one
// of those threads is that thread's context, a context with nothing to do keeps running
// until Stop, and the threads take names an operator can tell apart.
#include "common/io_threads.h"

#include <pthread.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

namespace batchq {
namespace {

using namespace std::chrono_literals;

// Runs `threads` on a thread of the test's from construction until destruction.
struct Running {
  explicit Running(IoThreads& threads) : threads(threads), runner([&threads] { threads.Run(); }) {}
  ~Running() {
    threads.Stop();
    runner.join();
  }
  IoThreads& threads;
  std::thread runner;
};

// What `task` gives when run on `context`'s thread; a default value, and a failure, if
// it has not run within 10 s.
template <typename Task>
auto RunOn(boost::asio::io_context& context, Task task) {
  using Value = decltype(task());
  auto result = std::make_shared<std::promise<Value>>();
  auto got = result->get_future();
  boost::asio::post(context, [result, task] { result->set_value(task()); });
  if (got.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "the context never ran it";
    return Value{};
  }
  return got.get();
}

TEST(IoThreadsTest, EachContextRunsOnAThreadOfItsOwnAndHereIsThatThreadsContext) {
  IoThreads threads(3);
  ASSERT_EQ(threads.size(), 3u);
  std::set<boost::asio::io_context*> contexts;
  for (int i = 0; i < 3; ++i) contexts.insert(&threads.Next());
  EXPECT_EQ(contexts.size(), 3u) << "Next takes each context in turn";
  Running running(threads);
  std::set<std::thread::id> ids;
  for (boost::asio::io_context* context : contexts) {
    ids.insert(RunOn(*context, [] { return std::this_thread::get_id(); }));
    EXPECT_EQ(RunOn(*context, [&threads] { return &threads.Here(); }), context)
        << "on one of its threads, Here is that thread's context";
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(IoThreadsTest, AContextWithNothingToDoKeepsRunningUntilStop) {
  IoThreads threads(2);
  Running running(threads);
  std::this_thread::yield();
  // Had the idle second context's run() returned, nothing would run this.
  EXPECT_TRUE(RunOn(threads.Next(), [] { return true; }));
  EXPECT_TRUE(RunOn(threads.Next(), [] { return true; }));
}

TEST(IoThreadsTest, StopEndsRunAndAThreadNotOfThemGetsTheNextContext) {
  IoThreads threads(2);
  { Running running(threads); }  // Stop, then join: a Run that did not return would hang here
  boost::asio::io_context& first = threads.Here();
  boost::asio::io_context& second = threads.Here();
  EXPECT_NE(&first, &second) << "off its threads, Here takes the contexts in turn";
}

std::string ThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

TEST(IoThreadsTest, TheThreadsItStartsAreNamedAndTheOneThatRunsItKeepsItsName) {
  IoThreads threads(2);
  boost::asio::io_context* other = &threads.Next();
  if (other == &threads.First()) other = &threads.Next();
  std::string first_name;
  std::string other_name;
  {
    // Run is called from a thread the test names, so that its name can be told apart.
    std::thread runner([&threads] {
      pthread_setname_np(pthread_self(), "the-caller");
      threads.Run();
    });
    first_name = RunOn(threads.First(), ThreadName);
    other_name = RunOn(*other, ThreadName);
    threads.Stop();
    runner.join();
  }
  EXPECT_EQ(first_name, "the-caller") << "the first context runs on the caller of Run";
  EXPECT_EQ(other_name, "io-1");
}

}  // namespace
}  // namespace batchq

#include "common/io_threads.h"

#include <string>
#include <thread>

#include "common/thread_name.h"

namespace batchq {

namespace asio = boost::asio;

namespace {
// The context the calling thread runs, set by Run on each of its threads.
thread_local asio::io_context* this_threads_context = nullptr;
}  // namespace

IoThreads::IoThreads(unsigned count) {
  if (count == 0) count = 1;
  contexts_.reserve(count);
  keep_running_.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    keep_running_.push_back(asio::make_work_guard(*contexts_.back()));
  }
}

IoThreads::~IoThreads() { Stop(); }

asio::io_context& IoThreads::Here() {
  for (const auto& context : contexts_) {
    if (context.get() == this_threads_context) return *context;
  }
  return Next();
}

asio::io_context& IoThreads::Next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoThreads::Run() {
  auto run = [](asio::io_context& context) {
    this_threads_context = &context;
    context.run();
    this_threads_context = nullptr;
  };
  std::vector<std::thread> threads;
  threads.reserve(contexts_.size() - 1);
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    // The first runs on the calling thread, which keeps its name (the process's).
    threads.emplace_back([&run, i, &context = *contexts_[i]] {
      NameThisThread("io-" + std::to_string(i));
      run(context);
    });
  }
  run(First());
  for (auto& thread : threads) thread.join();
}

void IoThreads::Stop() {
  for (const auto& context : contexts_) context->stop();
}

}  // namespace batchq

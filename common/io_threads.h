#pragma once
// A set of io_contexts, each run by one thread of its own, in place of one io_context run
// by several threads. Every thread then takes its handlers from a queue and a reactor no
// other I/O thread locks: with one shared io_context, the gateway's two I/O threads met on
// its lock for most of their wake-ups (a futex wait and wake each time). Asio is told each
// context has one thread (concurrency hint 1), so a handler posted from that thread stays
// in its private queue; its locks stay on, since other threads (the group commit's, the
// broker link's, the listener's) post into these contexts. Work spreads by connection:
// each new connection is given the next context in turn (Next), and stays there.
//
// Thread-safety: Next, Here, First and Stop may be called from any thread; Run once, from
// one thread. Owns its contexts and threads; destroy it after everything that holds one
// of its contexts' objects.

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace batchq {

class IoThreads {
 public:
  // `count` is at least 1.
  explicit IoThreads(unsigned count);
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  std::size_t size() const { return contexts_.size(); }
  // The context of the calling thread when it is one of these threads (so a timer or a
  // strand made for the caller's work stays on the caller's thread); else the next in
  // turn.
  boost::asio::io_context& Here();
  // The next context in turn.
  boost::asio::io_context& Next();
  // The first context; Run runs it on the calling thread.
  boost::asio::io_context& First() { return *contexts_.front(); }

  // Runs every context, the first on the calling thread and each other on a thread of
  // its own, until Stop; then joins those threads. Contexts without work keep running.
  void Run();
  // Stops every context: Run returns once each thread has left its handler.
  void Stop();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> keep_running_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace batchq

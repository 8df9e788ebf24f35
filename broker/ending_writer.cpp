#include "broker/ending_writer.h"

#include <spdlog/spdlog.h>

#include "common/thread_name.h"

namespace batchq {

EndingWriter::EndingWriter(RedisConnection::Options redis, JobStore::Options store,
                           std::chrono::milliseconds retry_interval)
    : redis_(std::move(redis)), store_(redis_, std::move(store)), retry_interval_(retry_interval) {
  thread_ = std::thread([this] {
    NameThisThread("ending-writer");
    Loop();
  });
}

EndingWriter::~EndingWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (!queue_.empty()) {
    spdlog::warn("{} job endings not written; the next broker's sweep finds those jobs",
                 queue_.size());
  }
}

void EndingWriter::Enqueue(JobEnding ending) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(ending));
  }
  wake_.notify_one();
}

std::vector<std::string> EndingWriter::TakeWritten(std::uint64_t epoch) {
  std::vector<std::pair<std::uint64_t, std::vector<std::string>>> written;
  {
    std::lock_guard lock(mutex_);
    written = std::exchange(written_, {});
  }
  std::vector<std::string> ids;
  for (auto& [of_epoch, some] : written) {
    if (of_epoch == epoch) ids.insert(ids.end(), some.begin(), some.end());
  }
  return ids;
}

void EndingWriter::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    JobEnding ending = queue_.front();
    lock.unlock();
    auto written =
        store_.Terminate(ending.ids, ending.status, ending.code, ending.message, ending.epoch);
    lock.lock();
    if (written) {
      queue_.pop_front();
      written_.emplace_back(ending.epoch, std::move(ending.ids));
      continue;
    }
    spdlog::warn("cannot record {} {} jobs yet: {}", ending.ids.size(), ToString(ending.status),
                 written.error().message);
    wake_.wait_for(lock, retry_interval_, [this] { return stop_; });
  }
}

}  // namespace batchq

#include "broker/record_check.h"

#include "common/thread_name.h"

namespace batchq {
namespace {

// Audits wait this long for company (or this many jobs), so that under load one check
// covers many SUBMITs instead of waking this thread, and the broker's, for each.
constexpr std::chrono::milliseconds kAuditDelay{5};
constexpr std::size_t kAuditBatch = 1000;

}  // namespace

RecordCheck::RecordCheck(RedisConnection::Options redis, JobStore::Options store)
    : redis_(std::move(redis)), store_(redis_, std::move(store)) {
  thread_ = std::thread([this] {
    NameThisThread("record-check");
    Loop();
  });
}

RecordCheck::~RecordCheck() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void RecordCheck::Enqueue(std::string routing, wire::Submit submit) {
  {
    std::lock_guard lock(mutex_);
    unchecked_jobs_ += submit.jobs.size();
    waiting_.push_back(Waiting{std::move(routing), std::move(submit)});
  }
  wake_.notify_one();
}

void RecordCheck::Audit(std::vector<std::string> ids) {
  bool first = false;
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    first = audits_.empty();
    unchecked_jobs_ += ids.size();
    audits_.insert(audits_.end(), std::make_move_iterator(ids.begin()),
                   std::make_move_iterator(ids.end()));
    full = audits_.size() >= kAuditBatch;
  }
  if (first || full) wake_.notify_one();
}

std::vector<RecordCheck::Checked> RecordCheck::TakeChecked() {
  std::lock_guard lock(mutex_);
  return std::exchange(checked_, {});
}

std::vector<std::string> RecordCheck::TakeMissing() {
  std::lock_guard lock(mutex_);
  return std::exchange(missing_, {});
}

std::size_t RecordCheck::unchecked_jobs() const {
  std::lock_guard lock(mutex_);
  return unchecked_jobs_;
}

void RecordCheck::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !waiting_.empty() || !audits_.empty(); });
    if (waiting_.empty()) {
      wake_.wait_for(lock, kAuditDelay, [this] {
        return stop_ || !waiting_.empty() || audits_.size() >= kAuditBatch;
      });
    }
    if (stop_) return;
    std::vector<Waiting> held = std::exchange(waiting_, {});
    std::vector<std::string> audited = std::exchange(audits_, {});
    lock.unlock();
    std::size_t jobs = audited.size();
    for (const auto& waiting : held) jobs += waiting.submit.jobs.size();
    std::vector<Checked> checked;
    std::vector<std::string> missing;
    Check(std::move(held), std::move(audited), checked, missing);
    lock.lock();
    unchecked_jobs_ -= jobs;
    for (auto& one : checked) checked_.push_back(std::move(one));
    missing_.insert(missing_.end(), std::make_move_iterator(missing.begin()),
                    std::make_move_iterator(missing.end()));
    if (!checked.empty() || !missing.empty()) ready_.Notify();
  }
}

void RecordCheck::Check(std::vector<Waiting> held, std::vector<std::string> audited,
                        std::vector<Checked>& checked, std::vector<std::string>& missing) {
  std::vector<std::string> ids;
  for (const auto& waiting : held) {
    for (const auto& job : waiting.submit.jobs) ids.push_back(job.id);
  }
  const std::size_t held_jobs = ids.size();
  ids.insert(ids.end(), audited.begin(), audited.end());
  auto exist = store_.RecordsExist(ids);
  checked.reserve(held.size());
  std::size_t first = 0;
  for (auto& waiting : held) {
    const std::size_t count = waiting.submit.jobs.size();
    Result<std::vector<bool>> own =
        exist ? Result<std::vector<bool>>(
                    std::vector<bool>(exist->begin() + first, exist->begin() + first + count))
              : Result<std::vector<bool>>(std::unexpected(exist.error()));
    first += count;
    checked.push_back(
        Checked{std::move(waiting.routing), std::move(waiting.submit), std::move(own)});
  }
  if (!exist) return;
  for (std::size_t i = 0; i < audited.size(); ++i) {
    if (!(*exist)[held_jobs + i]) missing.push_back(std::move(audited[i]));
  }
}

}  // namespace batchq

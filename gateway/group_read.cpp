#include "gateway/group_read.h"

#include <utility>

#include "common/thread_name.h"

namespace batchq {

GroupRead::GroupRead(Options options, JobStorePort& store)
    : options_(options), store_(store), thread_([this] {
        NameThisThread("group-read");
        Run();
      }) {}

GroupRead::~GroupRead() { Stop(); }

bool GroupRead::Read(std::vector<std::string> ids, Done done) {
  {
    std::lock_guard lock(mutex_);
    // A read alone is never refused by the bound, however many ids it names.
    if (stopping_ || (queued_ids_ > 0 && queued_ids_ + ids.size() > options_.max_queued_reads)) {
      ++counts_.refused;
      return false;
    }
    queued_ids_ += ids.size();
    queue_.push_back(Entry{std::move(ids), std::move(done)});
  }
  wake_.notify_one();
  return true;
}

void GroupRead::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

GroupRead::Counts GroupRead::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void GroupRead::Run() {
  std::vector<Entry> group;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything read
      // Whole entries, oldest first, up to the group's bound (at least one).
      std::size_t ids = 0;
      std::size_t take = 0;
      while (take < queue_.size() &&
             (take == 0 || ids + queue_[take].ids.size() <= options_.max_group_ids)) {
        ids += queue_[take].ids.size();
        ++take;
      }
      group.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<long>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(take));
      queued_ids_ -= ids;
    }
    ReadGroup(group);
    group.clear();
  }
}

void GroupRead::ReadGroup(std::vector<Entry>& group) {
  std::vector<std::string> ids;
  for (const Entry& entry : group) ids.insert(ids.end(), entry.ids.begin(), entry.ids.end());
  Records records = store_.GetMany(ids);
  if (records && records->size() != ids.size()) {
    records = Fail(ErrorCode::kRedisUnavailable, "Redis answered a read with the wrong count.");
  }
  {
    std::lock_guard lock(mutex_);
    ++counts_.groups;
    counts_.reads += group.size();
  }
  std::size_t next = 0;
  for (Entry& entry : group) {
    if (!records) {
      entry.done(std::unexpected(records.error()));
      continue;
    }
    std::vector<std::optional<JobRecord>> share(
        std::make_move_iterator(records->begin() + static_cast<long>(next)),
        std::make_move_iterator(records->begin() + static_cast<long>(next + entry.ids.size())));
    next += entry.ids.size();
    entry.done(std::move(share));
  }
}

}  // namespace batchq

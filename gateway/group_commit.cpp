#include "gateway/group_commit.h"

#include "common/thread_name.h"

namespace batchq {

GroupCommit::GroupCommit(Options options, JobStorePort& store)
    : options_(options), store_(store), thread_([this] {
        NameThisThread("group-commit");
        Run();
      }) {}

GroupCommit::~GroupCommit() { Stop(); }

void GroupCommit::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool GroupCommit::Commit(std::span<const NewJob> jobs, std::optional<IdempotencyClaim> claim,
                         Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    // One submit larger than the bound still goes through when nothing waits, so that
    // a big batch is never refused for ever.
    if (counts_.queued_jobs > 0 && counts_.queued_jobs + jobs.size() > options_.max_queued_jobs) {
      ++counts_.refused;
      return false;
    }
    queue_.push_back(Entry{jobs, claim, std::move(done)});
    counts_.queued_jobs += jobs.size();
  }
  wake_.notify_one();
  return true;
}

GroupCommit::Counts GroupCommit::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void GroupCommit::Run() {
  std::vector<Entry> group;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      group.swap(queue_);
    }
    std::vector<Outcome> outcomes = Write(group);
    std::size_t jobs = 0;
    for (const Entry& entry : group) jobs += entry.jobs.size();
    {
      // Counted before anyone hears of it, so that counts() never lags an answer.
      std::lock_guard lock(mutex_);
      counts_.queued_jobs -= jobs;
      counts_.submits += group.size();
      ++counts_.groups;
    }
    if (options_.before_dones) options_.before_dones();
    for (std::size_t i = 0; i < group.size(); ++i) group[i].done(std::move(outcomes[i]));
    if (options_.after_dones) options_.after_dones();
    group.clear();
  }
}

std::vector<GroupCommit::Outcome> GroupCommit::Write(const std::vector<Entry>& group) {
  std::vector<Outcome> outcomes(group.size(), Outcome{CreateOutcome{}, std::nullopt});
  std::vector<const NewJob*> plain;
  for (const Entry& entry : group) {
    if (entry.claim) continue;
    for (const NewJob& job : entry.jobs) plain.push_back(&job);
  }
  const Status written = store_.CreateGroup(plain);
  bool any_created = written && !plain.empty();
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (!group[i].claim) {
      if (!written) {
        outcomes[i].created = std::unexpected(written.error());
      } else if (!group[i].jobs.empty()) {
        outcomes[i].created = CreateOutcome{true, group[i].jobs[0].id, true};
      }
      continue;
    }
    outcomes[i].created = store_.Create(group[i].jobs, group[i].claim);
    any_created = any_created || (outcomes[i].created && outcomes[i].created->created);
  }
  if (options_.replicas_ack > 0 && any_created) {
    const Result<int> reached =
        store_.WaitForReplicas(options_.replicas_ack, options_.replicas_wait);
    for (Outcome& outcome : outcomes) outcome.replicas = reached;
  }
  return outcomes;
}

}  // namespace batchq

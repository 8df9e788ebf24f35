// GroupCommit against an in-memory store whose writes the test holds open: submits that
// arrive while a write is in flight go to Redis together in the next one, none is done
// before its write returned, and the bound refuses at once.
#include "gateway/group_commit.h"

#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "tests/gateway/gateway_fakes.h"

namespace batchq {
namespace {

// A FakeStore whose first group write waits until the test opens the gate, and which
// records each group's size. Calls come from GroupCommit's one thread.
class GatedStore : public test::FakeStore {
 public:
  Status CreateGroup(std::span<const NewJob* const> group) override {
    if (sizes.empty()) {
      entered.set_value();
      gate.get_future().wait();
    }
    sizes.push_back(group.size());
    return FakeStore::CreateGroup(group);
  }
  std::promise<void> entered;
  std::promise<void> gate;
  std::vector<std::size_t> sizes;
};

NewJob Job(const std::string& id) {
  NewJob job;
  job.id = id;
  job.type = "upper";
  job.input = "1";
  return job;
}

// Counts done calls and keeps their outcomes, from GroupCommit's thread.
struct Answers {
  std::mutex mutex;
  std::vector<JobCommitPort::Outcome> outcomes;
  std::promise<void> all;
  std::size_t expected = 0;
  JobCommitPort::Done Callback() {
    return [this](JobCommitPort::Outcome outcome) {
      std::lock_guard lock(mutex);
      outcomes.push_back(std::move(outcome));
      if (outcomes.size() == expected) all.set_value();
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return outcomes.size();
  }
};

TEST(GroupCommitTest, EachGroupsDonesRunBetweenItsOwnBeforeAndAfterHooks) {
  GatedStore store;
  std::mutex mutex;
  std::vector<std::string> events;
  auto note = [&](std::string event) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  };
  std::vector<std::vector<NewJob>> submits = {{Job("a")}, {Job("b")}, {Job("c")}};
  {
    GroupCommit commit(
        {.before_dones = [&] { note("before"); }, .after_dones = [&] { note("after"); }}, store);
    for (std::size_t i = 0; i < submits.size(); ++i) {
      const std::string id = submits[i][0].id;
      ASSERT_TRUE(commit.Commit(submits[i], std::nullopt,
                                [&, id](JobCommitPort::Outcome) { note("done " + id); }));
      if (i == 0) store.entered.get_future().wait();  // b and c gather behind a's write
    }
    store.gate.set_value();
  }  // Stop(): every group is written and done
  EXPECT_EQ(events, (std::vector<std::string>{"before", "done a", "after", "before", "done b",
                                              "done c", "after"}));
}

TEST(GroupCommitTest, SubmitsThatArriveDuringAWriteGoInOneGroupAndAreDoneOnlyAfterIt) {
  GatedStore store;
  std::vector<std::vector<NewJob>> submits = {
      {Job("a")}, {Job("b")}, {Job("c1"), Job("c2")}, {Job("d")}};
  Answers answers;
  answers.expected = submits.size();
  {
    GroupCommit commit({}, store);
    ASSERT_TRUE(commit.Commit(submits[0], std::nullopt, answers.Callback()));
    store.entered.get_future().wait();  // the first write is in flight, held
    for (std::size_t i = 1; i < submits.size(); ++i) {
      ASSERT_TRUE(commit.Commit(submits[i], std::nullopt, answers.Callback()));
    }
    EXPECT_EQ(answers.count(), 0u) << "nothing is done before Redis answered for it";
    store.gate.set_value();
    answers.all.get_future().wait();
    EXPECT_EQ(commit.counts().groups, 2u);
    EXPECT_EQ(commit.counts().submits, 4u);
  }
  EXPECT_EQ(store.sizes, (std::vector<std::size_t>{1, 4})) << "b, c1, c2 and d in one write";
  EXPECT_EQ(store.records.size(), 5u);
  for (const auto& outcome : answers.outcomes) {
    ASSERT_TRUE(outcome.created);
    EXPECT_TRUE(outcome.created->created);
    EXPECT_FALSE(outcome.replicas) << "no WAIT was asked for";
  }
}

TEST(GroupCommitTest, PastTheBoundACommitIsRefusedAtOnceAndTheOthersStillGoThrough) {
  GatedStore store;
  std::vector<NewJob> first = {Job("a")}, second = {Job("b")}, third = {Job("c")};
  Answers answers;
  answers.expected = 2;
  {
    GroupCommit commit({.max_queued_jobs = 2}, store);
    ASSERT_TRUE(commit.Commit(first, std::nullopt, answers.Callback()));
    store.entered.get_future().wait();
    EXPECT_TRUE(commit.Commit(second, std::nullopt, answers.Callback()));
    EXPECT_FALSE(commit.Commit(third, std::nullopt, answers.Callback()))
        << "a and b are waiting for Redis: c would be a third";
    EXPECT_EQ(commit.counts().refused, 1u);
    store.gate.set_value();
    answers.all.get_future().wait();
  }
  EXPECT_EQ(store.records.count("c"), 0u);
  EXPECT_EQ(answers.count(), 2u) << "the refused commit's callback never runs";
}

TEST(GroupCommitTest, AFailedWriteFailsEverySubmitOfItsGroupAndAWaitCoversTheGroup) {
  test::FakeStore store;
  store.down = true;
  std::vector<NewJob> jobs = {Job("a")};
  Answers answers;
  answers.expected = 1;
  {
    GroupCommit commit({}, store);
    ASSERT_TRUE(commit.Commit(jobs, std::nullopt, answers.Callback()));
    answers.all.get_future().wait();
  }
  ASSERT_EQ(answers.outcomes.size(), 1u);
  EXPECT_FALSE(answers.outcomes[0].created) << "Redis was down: no 202 may follow";

  test::FakeStore replicated;
  replicated.replicas_reached = 1;
  Answers waited;
  waited.expected = 1;
  {
    GroupCommit commit({.replicas_ack = 1}, replicated);
    ASSERT_TRUE(commit.Commit(jobs, std::nullopt, waited.Callback()));
    waited.all.get_future().wait();
  }
  ASSERT_TRUE(waited.outcomes[0].replicas);
  EXPECT_EQ(*waited.outcomes[0].replicas.value(), 1);
  EXPECT_EQ(replicated.replica_waits, 1);
}

}  // namespace
}  // namespace batchq

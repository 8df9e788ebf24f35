// GroupRead against an in-memory store whose reads the test holds open: reads that arrive
// while a pipeline is in flight go to Redis together in the next one, each gets its own
// records back in order, an error reaches every read of its group, and the bounds hold.
#include "gateway/group_read.h"

#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "tests/gateway/gateway_fakes.h"

namespace batchq {
namespace {

// A FakeStore whose first read waits until the test opens the gate, and which records
// the ids of each read. Calls come from GroupRead's one thread.
class GatedStore : public test::FakeStore {
 public:
  Result<std::vector<std::optional<JobRecord>>> GetMany(std::span<const std::string> ids) override {
    if (groups.empty()) {
      entered.set_value();
      gate.get_future().wait();
    }
    groups.emplace_back(ids.begin(), ids.end());
    return FakeStore::GetMany(ids);
  }
  std::promise<void> entered;
  std::promise<void> gate;
  std::vector<std::vector<std::string>> groups;
};

JobRecord Record(const std::string& id) {
  JobRecord record;
  record.id = id;
  record.type = "upper";
  record.status = JobStatus::kSucceeded;
  return record;
}

// Keeps each read's answer by its tag, from GroupRead's thread.
struct Answers {
  std::mutex mutex;
  std::map<std::string, JobReadPort::Records> by_tag;
  std::promise<void> all;
  std::size_t expected = 0;
  JobReadPort::Done Callback(std::string tag) {
    return [this, tag](JobReadPort::Records records) {
      std::lock_guard lock(mutex);
      by_tag.emplace(tag, std::move(records));
      if (by_tag.size() == expected) all.set_value();
    };
  }
  // The ids of the records a read got back ("-" for none).
  std::vector<std::string> Ids(const std::string& tag) {
    std::vector<std::string> ids;
    for (const auto& record : *by_tag.at(tag)) ids.push_back(record ? record->id : "-");
    return ids;
  }
};

TEST(GroupReadTest, ReadsThatArriveDuringAPipelineGoTogetherAndEachGetsItsOwnRecords) {
  GatedStore store;
  for (const char* id : {"a", "b", "c", "d"}) store.records[id] = Record(id);
  Answers answers;
  answers.expected = 4;
  GroupRead reads({}, store);
  ASSERT_TRUE(reads.Read({"a"}, answers.Callback("first")));
  store.entered.get_future().wait();  // the first pipeline is in flight
  ASSERT_TRUE(reads.Read({"b", "missing"}, answers.Callback("second")));
  ASSERT_TRUE(reads.Read({"c"}, answers.Callback("third")));
  ASSERT_TRUE(reads.Read({"d", "a"}, answers.Callback("fourth")));
  store.gate.set_value();
  answers.all.get_future().wait();
  reads.Stop();
  ASSERT_EQ(store.groups.size(), 2u) << "the three reads queued meanwhile went in one";
  EXPECT_EQ(store.groups[1], (std::vector<std::string>{"b", "missing", "c", "d", "a"}));
  EXPECT_EQ(answers.Ids("first"), std::vector<std::string>{"a"});
  EXPECT_EQ(answers.Ids("second"), (std::vector<std::string>{"b", "-"}));
  EXPECT_EQ(answers.Ids("third"), std::vector<std::string>{"c"});
  EXPECT_EQ(answers.Ids("fourth"), (std::vector<std::string>{"d", "a"}));
  EXPECT_EQ(reads.counts().groups, 2u);
  EXPECT_EQ(reads.counts().reads, 4u);
}

TEST(GroupReadTest, AFailedPipelineFailsEveryReadOfItsGroup) {
  GatedStore store;
  store.records["a"] = Record("a");
  Answers answers;
  answers.expected = 3;
  GroupRead reads({}, store);
  ASSERT_TRUE(reads.Read({"a"}, answers.Callback("first")));
  store.entered.get_future().wait();
  store.down = true;
  ASSERT_TRUE(reads.Read({"a"}, answers.Callback("second")));
  ASSERT_TRUE(reads.Read({"a"}, answers.Callback("third")));
  store.gate.set_value();
  answers.all.get_future().wait();
  reads.Stop();
  EXPECT_FALSE(answers.by_tag.at("second"));
  EXPECT_FALSE(answers.by_tag.at("third"));
  EXPECT_EQ(answers.by_tag.at("third").error().code, ErrorCode::kRedisUnavailable);
}

TEST(GroupReadTest, TheBoundsRefuseAtOnceAndSplitLongGroups) {
  GatedStore store;
  Answers answers;
  answers.expected = 4;
  GroupRead reads({.max_queued_reads = 3, .max_group_ids = 2}, store);
  ASSERT_TRUE(reads.Read({"x"}, answers.Callback("in flight")));
  store.entered.get_future().wait();
  ASSERT_TRUE(reads.Read({"a", "b"}, answers.Callback("one")));
  ASSERT_TRUE(reads.Read({"c"}, answers.Callback("two")));
  bool called = false;
  EXPECT_FALSE(reads.Read({"d"}, [&called](JobReadPort::Records) { called = true; }))
      << "3 ids wait: the bound";
  store.gate.set_value();
  reads.Stop();  // reads what is queued, then joins
  EXPECT_FALSE(called) << "a refused read is never called back";
  EXPECT_EQ(reads.counts().refused, 1u);
  ASSERT_EQ(store.groups.size(), 3u) << "at most 2 ids a pipeline";
  EXPECT_EQ(store.groups[1], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store.groups[2], std::vector<std::string>{"c"});
  GroupRead fresh({.max_queued_reads = 3}, store);
  EXPECT_TRUE(fresh.Read({"1", "2", "3", "4", "5"}, answers.Callback("alone")))
      << "a read alone is never refused by the bound";
  fresh.Stop();
  EXPECT_EQ(answers.Ids("alone").size(), 5u);
  EXPECT_FALSE(fresh.Read({"1"}, [](JobReadPort::Records) {})) << "stopped";
}

}  // namespace
}  // namespace batchq

// The packed start (common/packed_start.h): what packs, what does not, and what reads back.
#include "common/packed_start.h"

#include <string>

#include <gtest/gtest.h>

#include "common/job_record.h"

namespace batchq {
namespace {

JobRecord AStart() {
  JobRecord start;
  start.dispatched = WallMicros(1'765'100'000'000'000);
  start.started = WallMicros(1'765'100'000'000'212);
  start.batch_size = 35;
  start.close_reason = "idle_worker";
  start.batch_id = "5f3c9a1e-104729";
  start.worker = "3fa85f6457c1-17";
  return start;
}

void ExpectSameStart(const JobRecord& read, const JobRecord& start) {
  EXPECT_EQ(read.dispatched, start.dispatched);
  EXPECT_EQ(read.started, start.started);
  EXPECT_EQ(read.batch_size, start.batch_size);
  EXPECT_EQ(read.close_reason, start.close_reason);
  EXPECT_EQ(read.batch_id, start.batch_id);
}

TEST(PackedStartTest, AStackLikeStartPacksAndReadsBackThroughSetField) {
  const JobRecord start = AStart();
  const auto text = PackStart(start);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "1765100000000000 212 35 idle_worker 5f3c9a1e-104729");
  EXPECT_LE(text->size(), kMaxPackedStartBytes);
  JobRecord read;
  SetField(read, kPackedStartField, *text);
  ExpectSameStart(read, start);
  EXPECT_TRUE(read.worker.empty()) << "the worker is a field of its own";
}

// The broker's clock dispatches and the worker's starts: on two hosts the start may read
// earlier than the dispatch.
TEST(PackedStartTest, AStartBeforeItsDispatchReadsBackAsWritten) {
  JobRecord start = AStart();
  start.started = start.dispatched - std::chrono::microseconds(1500);
  const auto text = PackStart(start);
  ASSERT_TRUE(text);
  JobRecord read;
  ASSERT_TRUE(UnpackStart(*text, read));
  ExpectSameStart(read, start);
}

TEST(PackedStartTest, AStartThatWouldNotReadBackOrFitAListpackValueDoesNotPack) {
  JobRecord no_reason = AStart();
  no_reason.close_reason.clear();
  EXPECT_FALSE(PackStart(no_reason));
  JobRecord spaced = AStart();
  spaced.batch_id = "a batch";
  EXPECT_FALSE(PackStart(spaced));
  // The scripts' reader splits on any whitespace, as Lua's %S does.
  JobRecord tabbed = AStart();
  tabbed.close_reason = "idle\tworker";
  EXPECT_FALSE(PackStart(tabbed));
  JobRecord no_batch = AStart();
  no_batch.batch_id.clear();
  EXPECT_FALSE(PackStart(no_batch));
  JobRecord long_batch = AStart();
  long_batch.batch_id = std::string(40, 'b');
  EXPECT_FALSE(PackStart(long_batch)) << "past " << kMaxPackedStartBytes << " bytes";
  long_batch.batch_id = std::string(20, 'b');
  EXPECT_TRUE(PackStart(long_batch));
}

TEST(PackedStartTest, ATextThatDoesNotParseSetsNothing) {
  for (const char* text :
       {"", "1765100000000000", "1765100000000000 212 35 idle_worker",
        "1765100000000000 212 35 idle_worker b1 extra", "x 212 35 idle_worker b1",
        "1765100000000000 2x 35 idle_worker b1", "1765100000000000 212 -3 idle_worker b1",
        "1765100000000000 212 35 idle_worker "}) {
    JobRecord read = AStart();
    read.batch_id = "kept";
    EXPECT_FALSE(UnpackStart(text, read)) << '"' << text << '"';
    EXPECT_EQ(read.batch_id, "kept") << '"' << text << '"';
    EXPECT_EQ(read.dispatched, AStart().dispatched) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace batchq

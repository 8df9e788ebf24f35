// RecentEndings alone, with time as an argument.
#include "gateway/recent_endings.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

using namespace std::chrono_literals;
using Clock = RecentEndings::Clock;

std::shared_ptr<const JobRecord> Ended(std::string id, JobStatus status = JobStatus::kSucceeded,
                                       std::string result = R"("OK")") {
  auto record = std::make_shared<JobRecord>();
  record->id = std::move(id);
  record->tenant = "t1";
  record->status = status;
  record->result = std::move(result);
  return record;
}

const Clock::time_point t0{std::chrono::seconds(1000)};

TEST(RecentEndingsTest, KeepsASucceededRecordForTheHoldOnly) {
  RecentEndings endings({.hold = 1000ms});
  auto record = Ended("a");
  endings.Keep(record, t0);
  EXPECT_EQ(endings.Find("a", t0), record);
  EXPECT_EQ(endings.Find("a", t0 + 999ms), record);
  EXPECT_EQ(endings.Find("a", t0 + 1000ms), nullptr);
  EXPECT_EQ(endings.Find("b", t0), nullptr);
  endings.Keep(Ended("b"), t0 + 1000ms);
  EXPECT_EQ(endings.size(), 1u) << "the next Keep drops what is past the hold";
  EXPECT_NE(endings.Find("b", t0 + 1999ms), nullptr);
}

TEST(RecentEndingsTest, KeepsNothingThatCouldStillChange) {
  RecentEndings endings({.hold = 1000ms});
  // A failed, expired or cancelled job can be queued again (POST :retry).
  for (const auto status : {JobStatus::kFailed, JobStatus::kExpired, JobStatus::kCancelled,
                            JobStatus::kQueued, JobStatus::kRunning}) {
    endings.Keep(Ended("x", status), t0);
    EXPECT_EQ(endings.Find("x", t0), nullptr) << ToString(status);
  }
  endings.Keep(nullptr, t0);
  EXPECT_EQ(endings.size(), 0u);
}

TEST(RecentEndingsTest, AZeroHoldKeepsNothing) {
  RecentEndings endings({.hold = 0ms});
  endings.Keep(Ended("a"), t0);
  EXPECT_EQ(endings.Find("a", t0), nullptr);
  EXPECT_EQ(endings.size(), 0u);
}

TEST(RecentEndingsTest, PastTheCountTheOldestGoFirst) {
  RecentEndings endings({.hold = 1000ms, .max_records = 2});
  endings.Keep(Ended("a"), t0);
  endings.Keep(Ended("b"), t0 + 1ms);
  endings.Keep(Ended("c"), t0 + 2ms);
  EXPECT_EQ(endings.Find("a", t0 + 2ms), nullptr);
  EXPECT_NE(endings.Find("b", t0 + 2ms), nullptr);
  EXPECT_NE(endings.Find("c", t0 + 2ms), nullptr);
  EXPECT_EQ(endings.size(), 2u);
}

TEST(RecentEndingsTest, PastTheBytesTheOldestGoFirstAndTooLargeIsNotKept) {
  const std::string big(1000, 'x');
  const std::size_t one = RecentEndings::Footprint(*Ended("a", JobStatus::kSucceeded, big));
  RecentEndings endings({.hold = 1000ms, .max_records = 100, .max_bytes = 2 * one + one / 2});
  endings.Keep(Ended("a", JobStatus::kSucceeded, big), t0);
  endings.Keep(Ended("b", JobStatus::kSucceeded, big), t0);
  EXPECT_EQ(endings.size(), 2u);
  endings.Keep(Ended("c", JobStatus::kSucceeded, big), t0);
  EXPECT_EQ(endings.Find("a", t0), nullptr);
  EXPECT_NE(endings.Find("c", t0), nullptr);
  EXPECT_EQ(endings.size(), 2u);
  endings.Keep(Ended("huge", JobStatus::kSucceeded, std::string(3 * one, 'y')), t0);
  EXPECT_EQ(endings.Find("huge", t0), nullptr);
  EXPECT_NE(endings.Find("b", t0), nullptr) << "a record past the bound alone evicts nothing";
}

TEST(RecentEndingsTest, KeptAgainCountsFromTheLaterTimeAndOnce) {
  RecentEndings endings({.hold = 1000ms});
  endings.Keep(Ended("a", JobStatus::kSucceeded, R"("FIRST")"), t0);
  auto later = Ended("a", JobStatus::kSucceeded, R"("SECOND")");
  endings.Keep(later, t0 + 500ms);
  EXPECT_EQ(endings.size(), 1u);
  // The first entry's time passes; the record kept later stays.
  EXPECT_EQ(endings.Find("a", t0 + 1200ms), later);
  EXPECT_EQ(endings.Find("a", t0 + 1500ms), nullptr);
}

}  // namespace
}  // namespace batchq

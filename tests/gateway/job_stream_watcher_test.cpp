// A job's event stream against a recording stream: the record's steps, then the notices,
// in order and once, even when a notice overtakes the first read of the record.
#include "gateway/job_stream_watcher.h"

#include <gtest/gtest.h>

namespace batchq {
namespace {

class RecordingStream : public ReplyStream {
 public:
  bool Send(std::string bytes) override {
    if (ended) return false;
    sent += bytes;
    return true;
  }
  void End() override { ended = true; }
  bool closed() const override { return ended; }

  // The event ids sent, in order.
  std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (std::size_t at = sent.find("id: "); at != std::string::npos;
         at = sent.find("id: ", at + 1)) {
      ids.push_back(sent.substr(at + 4, sent.find('\n', at) - at - 4));
    }
    return ids;
  }

  std::string sent;
  bool ended = false;
};

JobRecord Record(JobStatus status, std::uint32_t attempts) {
  JobRecord record;
  record.id = "j1";
  record.type = "upper";
  record.status = status;
  record.attempts = attempts;
  record.created = WallMicros(1'000'000);
  if (status != JobStatus::kQueued) record.started = WallMicros(2'000'000);
  if (IsTerminal(status)) record.finished = WallMicros(3'000'000);
  return record;
}

JobChange Change(JobStatus status, std::uint32_t attempt) {
  return JobChange{"j1", status, attempt, "t", "upper"};
}

TEST(JobStreamWatcherTest, ANoticeThatOvertakesTheFirstReadWaitsForTheRecordsSteps) {
  auto stream = std::make_shared<RecordingStream>();
  JobStreamWatcher watcher(stream, std::nullopt);
  // The job started after the read was answered, and its notice came first.
  EXPECT_TRUE(watcher.OnChange(Change(JobStatus::kRunning, 1), nullptr));
  EXPECT_TRUE(stream->sent.empty()) << "held until the record is in";
  const JobRecord queued = Record(JobStatus::kQueued, 0);
  EXPECT_TRUE(watcher.OnRecord(&queued));
  EXPECT_EQ(stream->Ids(), (std::vector<std::string>{"1.0", "1.1"}));
  const JobRecord ended = Record(JobStatus::kSucceeded, 1);
  EXPECT_FALSE(watcher.OnChange(Change(JobStatus::kSucceeded, 1), &ended)) << "the stream ends";
  EXPECT_EQ(stream->Ids(), (std::vector<std::string>{"1.0", "1.1", "1.2"}));
  EXPECT_TRUE(stream->ended);
}

TEST(JobStreamWatcherTest, AnEndThatCameBeforeTheReadIsSentAfterTheRecordOnce) {
  auto stream = std::make_shared<RecordingStream>();
  JobStreamWatcher watcher(stream, std::nullopt);
  const JobRecord ended = Record(JobStatus::kSucceeded, 1);
  EXPECT_TRUE(watcher.OnChange(Change(JobStatus::kRunning, 1), nullptr));
  EXPECT_TRUE(watcher.OnChange(Change(JobStatus::kSucceeded, 1), &ended));
  EXPECT_TRUE(stream->sent.empty());
  const JobRecord running = Record(JobStatus::kRunning, 1);
  EXPECT_FALSE(watcher.OnRecord(&running));
  EXPECT_EQ(stream->Ids(), (std::vector<std::string>{"1.0", "1.1", "1.2"}));
}

TEST(JobStreamWatcherTest, AnUnreadableRecordLetsTheHeldNoticesGo) {
  auto stream = std::make_shared<RecordingStream>();
  JobStreamWatcher watcher(stream, JobEventKey{1, 0});
  EXPECT_TRUE(watcher.OnChange(Change(JobStatus::kRunning, 1), nullptr));
  EXPECT_TRUE(watcher.OnRecord(nullptr));
  EXPECT_EQ(stream->Ids(), (std::vector<std::string>{"1.1"}));
  EXPECT_TRUE(watcher.OnHeartbeat());
  EXPECT_NE(stream->sent.find(": heartbeat"), std::string::npos);
}

}  // namespace
}  // namespace batchq

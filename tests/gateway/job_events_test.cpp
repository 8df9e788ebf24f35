// The pure parts of the event streams: the change codec, the SSE format, a job stream's
// cursor (which events, in which order, each once) and the hub's fan-out.

#include <limits>

#include <gtest/gtest.h>

#include "common/job_change.h"
#include "gateway/job_event_hub.h"
#include "gateway/job_events.h"
#include "gateway/server_sent_event.h"

namespace batchq {
namespace {

using namespace std::chrono_literals;

TEST(JobChangeTest, LinesRoundTripAndMalformedOnesAreSkipped) {
  const JobChange change{"j1", JobStatus::kRunning, 2, "acme", "upper"};
  const std::string message = FormatJobChange(change) + "\nbare-id\n" +
                              "j2\tsucceeded\t1\t\tupper\n" + "j3\tnot-a-status\t1\tacme\tupper\n" +
                              "j4\tqueued\tx\tacme\tupper\n" + "j5\tqueued\t0\tacme\tupper\textra";
  std::size_t skipped = 0;
  const auto changes = ParseJobChanges(message, &skipped);
  // j5's extra field makes it a carried-record line, whose record does not parse.
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[2].id, "j5");
  EXPECT_EQ(changes[2].carried, "extra");
  EXPECT_EQ(CarriedRecord(changes[2]), nullptr);
  EXPECT_EQ(changes[0].id, "j1");
  EXPECT_EQ(changes[0].status, JobStatus::kRunning);
  EXPECT_EQ(changes[0].attempt, 2);
  EXPECT_EQ(changes[0].tenant, "acme");
  EXPECT_EQ(changes[0].type, "upper");
  EXPECT_EQ(changes[1].id, "j2");
  EXPECT_EQ(changes[1].tenant, "");
  EXPECT_EQ(skipped, 3u);
}

TEST(JobChangeTest, AppendedLinesFollowWhatTheMessageHeldAndParseBack) {
  std::string message = "j0\tqueued\t0\tacme\tupper\n";
  JobChange first{"j1", JobStatus::kFailed, -3, "", "render"};
  first.carried = "result=x";  // not written: a plain line
  AppendJobChange(message, JobChangeView(first));
  message += '\n';
  AppendJobChange(
      message, JobChangeView(JobChange{"j2", JobStatus::kSucceeded,
                                       std::numeric_limits<std::int64_t>::min(), "acme", "upper"}));
  EXPECT_EQ(message,
            "j0\tqueued\t0\tacme\tupper\nj1\tfailed\t-3\t\trender\n"
            "j2\tsucceeded\t-9223372036854775808\tacme\tupper");
  const auto changes = ParseJobChanges(message);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[1].attempt, -3);
  EXPECT_EQ(changes[1].carried, "");
  EXPECT_EQ(changes[2].attempt, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(FormatJobChange(changes[2]), message.substr(message.rfind('\n') + 1));
}

TEST(JobChangeTest, ACarriedRecordLineGivesTheRecordWithItsEscapesUndone) {
  const std::string head = "j1\tsucceeded\t2\tacme\tupper\t";
  const std::string message =
      head + "id=j1\tstatus=succeeded\tattempts=2\t" +
      R"(input={"s":"a\\tb\tc\nd\\"})" +  // escapes as the script writes them
      "\tresult=\"ok\"\tfinished_us=1700000000000001\tunknown_field=kept out";
  std::size_t skipped = 0;
  const auto changes = ParseJobChanges(message, &skipped);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(skipped, 0u);
  const auto carried = CarriedRecord(changes[0]);
  ASSERT_NE(carried, nullptr);
  const JobRecord& record = *carried;
  EXPECT_EQ(changes[0].id, "j1");
  EXPECT_EQ(changes[0].tenant, "acme");
  EXPECT_EQ(record.id, "j1");
  EXPECT_EQ(record.status, JobStatus::kSucceeded);
  EXPECT_EQ(record.attempts, 2u);
  EXPECT_EQ(record.input, "{\"s\":\"a\\tb\tc\nd\\\"}");
  EXPECT_EQ(record.result, R"("ok")");
  EXPECT_EQ(record.finished, WallMicros(1700000000000001));
  // A plain line carries nothing.
  const auto plain = ParseJobChanges("j2\tfailed\t1\tacme\tupper");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_TRUE(plain[0].carried.empty());
  EXPECT_EQ(CarriedRecord(plain[0]), nullptr);
}

TEST(JobChangeTest, ACarriedRecordThatDoesNotParseGivesNoRecordButStillTheChange) {
  const std::string head = "j1\tsucceeded\t2\tacme\tupper\t";
  for (const std::string& fields : {
           std::string("id=j1\tresult=bad\\x escape"),
           std::string("id=j1\tresult=dangling\\"),
           std::string("id=j1\tno equals sign"),
           std::string("id=j1\t=no name"),
           std::string("id=j2\tresult=\"another job's\""),
       }) {
    std::size_t skipped = 0;
    const auto changes = ParseJobChanges(head + fields + "\nj3\tqueued\t0\tacme\tupper", &skipped);
    ASSERT_EQ(changes.size(), 2u) << fields;
    EXPECT_EQ(skipped, 0u) << fields;
    EXPECT_EQ(changes[0].carried, fields);
    EXPECT_EQ(CarriedRecord(changes[0]), nullptr) << fields;
    EXPECT_EQ(changes[1].id, "j3") << fields;
  }
  // A tab after the type with nothing after it is no line at all.
  std::size_t skipped = 0;
  EXPECT_TRUE(ParseJobChanges(head, &skipped).empty());
  EXPECT_EQ(skipped, 1u);
}

// The finish script leaves out the three fields the line holds; writers of earlier
// versions wrote them too, which still parses.
TEST(JobChangeTest, ACarriedRecordTakesItsIdTenantAndTypeFromItsLine) {
  for (const std::string& fields : {std::string("status=succeeded\tresult=\"ok\""),
                                    std::string("id=j1\ttenant=acme\ttype=upper\tstatus="
                                                "succeeded\tresult=\"ok\"")}) {
    const auto changes = ParseJobChanges("j1\tsucceeded\t2\tacme\tupper\t" + fields);
    ASSERT_EQ(changes.size(), 1u) << fields;
    const auto carried = CarriedRecord(changes[0]);
    ASSERT_NE(carried, nullptr) << fields;
    EXPECT_EQ(carried->id, "j1") << fields;
    EXPECT_EQ(carried->tenant, "acme") << fields;
    EXPECT_EQ(carried->type, "upper") << fields;
    EXPECT_EQ(carried->status, JobStatus::kSucceeded) << fields;
    EXPECT_EQ(carried->result, R"("ok")") << fields;
  }
}

// What JobStore::Finish writes of a carried record: each byte the format escapes, and
// nothing for an empty value; the line parses back to the values.
TEST(JobChangeTest, AppendedCarriedFieldsParseBackToTheirValues) {
  const std::string tricky = "a\\b\tc\nd\\\\";
  std::string fields;
  AppendCarriedField(fields, "result", tricky);
  AppendCarriedField(fields, "error_message", "");
  AppendCarriedField(fields, "worker", "w1");
  EXPECT_EQ(fields, "\tresult=a\\\\b\\tc\\nd\\\\\\\\\tworker=w1");
  const auto changes = ParseJobChanges("j1\tsucceeded\t1\tacme\tupper" + fields);
  ASSERT_EQ(changes.size(), 1u);
  const auto carried = CarriedRecord(changes[0]);
  ASSERT_NE(carried, nullptr);
  EXPECT_EQ(carried->result, tricky);
  EXPECT_EQ(carried->worker, "w1");
  EXPECT_EQ(carried->error_message, "");
}

TEST(ServerSentEventTest, FieldsAndMultiLineData) {
  EXPECT_EQ(FormatServerSentEvent("1.0", "queued", R"({"a":1})"),
            "id: 1.0\nevent: queued\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(FormatServerSentEvent("", "", "one\r\ntwo\nthree"),
            "data: one\ndata: two\ndata: three\n\n");
  EXPECT_EQ(FormatServerSentComment("heartbeat"), ": heartbeat\n\n");
  EXPECT_EQ(FormatServerSentRetry(2500ms), "retry: 2500\n\n");
}

TEST(JobEventKeyTest, ParsesOnlyWhatItWrites) {
  const JobEventKey key{3, 1};
  EXPECT_EQ(key.ToString(), "3.1");
  EXPECT_EQ(JobEventKey::Parse("3.1"), key);
  for (const char* bad : {"", "3", "3.", ".1", "3.3", "-1.0", "3.10", "a.1", "3.1 "}) {
    EXPECT_FALSE(JobEventKey::Parse(bad)) << bad;
  }
  EXPECT_LT((JobEventKey{1, 2}), (JobEventKey{2, 0}));
}

JobRecord Record(JobStatus status, std::uint32_t attempts) {
  JobRecord record;
  record.id = "job-1";
  record.type = "upper";
  record.tenant = "acme";
  record.status = status;
  record.attempts = attempts;
  if (status == JobStatus::kSucceeded) record.result = R"({"text":"HI"})";
  return record;
}

std::vector<std::string> Ids(const std::vector<JobEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) ids.push_back(event.key.ToString() + " " + event.name);
  return ids;
}

TEST(JobEventCursorTest, ARecordGivesEveryStepItShowsOnceAndInOrder) {
  JobEventCursor cursor(std::nullopt);
  EXPECT_EQ(Ids(cursor.FromRecord(Record(JobStatus::kQueued, 0))),
            std::vector<std::string>{"1.0 queued"});
  EXPECT_EQ(Ids(cursor.FromRecord(Record(JobStatus::kQueued, 0))), std::vector<std::string>{});
  const auto ended = cursor.FromRecord(Record(JobStatus::kSucceeded, 1));
  EXPECT_EQ(Ids(ended), (std::vector<std::string>{"1.1 running", "1.2 succeeded"}));
  EXPECT_NE(ended.back().data.find(R"("result":{"text":"HI"})"), std::string::npos)
      << "the terminal event carries the whole job: " << ended.back().data;
  EXPECT_EQ(ended.front().data, R"({"id":"job-1","status":"running","attempt":1})");
  EXPECT_TRUE(cursor.ended());
}

TEST(JobEventCursorTest, ChangesAndRecordsMixWithoutRepeatsAndALostWorkerShowsANewAttempt) {
  JobEventCursor cursor(std::nullopt);
  EXPECT_EQ(Ids(cursor.FromRecord(Record(JobStatus::kQueued, 0))),
            std::vector<std::string>{"1.0 queued"});
  // The notice that the job was queued arrives after the record showed it.
  EXPECT_FALSE(cursor.FromChange({"job-1", JobStatus::kQueued, 0, "acme", "upper"}));
  auto running = cursor.FromChange({"job-1", JobStatus::kRunning, 1, "acme", "upper"});
  ASSERT_TRUE(running);
  EXPECT_EQ(running->key.ToString(), "1.1");
  // Its worker is lost; the broker dispatches it again as attempt 2.
  running = cursor.FromChange({"job-1", JobStatus::kRunning, 2, "acme", "upper"});
  ASSERT_TRUE(running);
  EXPECT_EQ(running->key.ToString(), "2.1");
  EXPECT_FALSE(cursor.FromChange({"job-1", JobStatus::kRunning, 1, "acme", "upper"}))
      << "a late notice of the first attempt";
  EXPECT_EQ(Ids(cursor.FromRecord(Record(JobStatus::kFailed, 2))),
            std::vector<std::string>{"2.2 failed"});
  EXPECT_TRUE(cursor.ended());
}

TEST(JobEventCursorTest, LastEventIdResumesAfterItAndAJobCancelledBeforeItRanEnds) {
  JobEventCursor resumed(JobEventKey{1, 1});
  EXPECT_EQ(Ids(resumed.FromRecord(Record(JobStatus::kSucceeded, 1))),
            std::vector<std::string>{"1.2 succeeded"});
  JobEventCursor seen_all(JobEventKey{1, 2});
  EXPECT_TRUE(seen_all.FromRecord(Record(JobStatus::kSucceeded, 1)).empty());
  EXPECT_TRUE(seen_all.ended());
  JobEventCursor cancelled(std::nullopt);
  EXPECT_EQ(Ids(cancelled.FromRecord(Record(JobStatus::kCancelled, 0))),
            (std::vector<std::string>{"1.0 queued", "1.2 cancelled"}));
}

// A watcher that records what it is told and says it is done when asked to.
class RecordingWatcher : public JobEventHub::Watcher {
 public:
  bool OnChange(const JobChange& change, const JobRecord* record) override {
    seen.push_back(change.id + (record != nullptr ? "+record" : ""));
    return open;
  }
  bool OnGap(const JobRecord* record) override {
    seen.push_back(record != nullptr ? "gap+" + record->id : "gap");
    return open;
  }
  bool OnHeartbeat() override {
    ++heartbeats;
    return open;
  }
  std::vector<std::string> seen;
  int heartbeats = 0;
  bool open = true;
};

TEST(JobEventHubTest, ChangesReachTheirJobsTenantsAndEveryTenantWatchers) {
  std::vector<std::vector<std::string>> reads;
  JobEventHub hub(
      [&reads](std::span<const std::string> ids) -> Result<std::vector<std::optional<JobRecord>>> {
        reads.emplace_back(ids.begin(), ids.end());
        std::vector<std::optional<JobRecord>> records;
        for (const auto& id : ids) {
          JobRecord record = Record(JobStatus::kSucceeded, 1);
          record.id = id;
          records.push_back(record);
        }
        return records;
      },
      1s);
  auto job = std::make_shared<RecordingWatcher>();
  auto acme = std::make_shared<RecordingWatcher>();
  auto other = std::make_shared<RecordingWatcher>();
  auto every = std::make_shared<RecordingWatcher>();
  hub.WatchJob("j1", job);
  hub.WatchTenant("acme", acme);
  hub.WatchTenant("other", other);
  hub.WatchTenant(std::string(JobEventHub::kEveryTenant), every);
  const std::vector<JobChange> changes{{"j1", JobStatus::kRunning, 1, "acme", "upper"},
                                       {"j2", JobStatus::kSucceeded, 1, "acme", "upper"},
                                       {"j1", JobStatus::kSucceeded, 1, "acme", "upper"}};
  hub.Publish(changes);
  EXPECT_EQ(job->seen, (std::vector<std::string>{"j1", "j1+record"}));
  EXPECT_EQ(acme->seen, (std::vector<std::string>{"j1", "j2", "j1"}));
  EXPECT_TRUE(other->seen.empty());
  EXPECT_EQ(every->seen.size(), 3u);
  // Only watched jobs that ended are read, once each.
  EXPECT_EQ(reads, (std::vector<std::vector<std::string>>{{"j1"}}));

  hub.Gap();
  EXPECT_EQ(job->seen.back(), "gap+j1");
  EXPECT_EQ(acme->seen.back(), "gap");
}

TEST(JobEventHubTest, HeartbeatsFollowTheIntervalAndClosedWatchersAreForgotten) {
  JobEventHub hub(
      [](std::span<const std::string>) -> Result<std::vector<std::optional<JobRecord>>> {
        return {};
      },
      10s);
  auto open = std::make_shared<RecordingWatcher>();
  auto closing = std::make_shared<RecordingWatcher>();
  hub.WatchTenant("acme", open);
  hub.WatchJob("j1", closing);
  const auto start = std::chrono::steady_clock::time_point{} + 1h;
  hub.Tick(start);
  hub.Tick(start + 9s);
  EXPECT_EQ(open->heartbeats, 1);
  closing->open = false;
  hub.Tick(start + 10s);
  EXPECT_EQ(open->heartbeats, 2);
  EXPECT_EQ(closing->heartbeats, 2);
  EXPECT_EQ(hub.watchers(), 1u) << "a watcher that said it is done stays";
  hub.Publish(std::vector<JobChange>{{"j1", JobStatus::kRunning, 1, "acme", "upper"}});
  EXPECT_EQ(closing->seen.size(), 0u);
}

}  // namespace
}  // namespace batchq

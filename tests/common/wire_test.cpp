#include "common/wire.h"

#include <gtest/gtest.h>

namespace batchq::wire {
namespace {

template <class T>
T RoundTrip(const T& value) {
  const Frames frames = Encode(value);
  auto decoded = Decode(frames.header, frames.body);
  EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message);
  if (!decoded) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*decoded));
  return std::get<T>(*decoded);
}

TEST(WireTest, SubmitRoundTrips) {
  Submit submit{42,
                {{"id1", "upper", 3, 1, R"("héllo")", 1700000000000000, 250, "acme", 3, 500},
                 {"id2", "sleep", -2, 0, "[1,2]", 1700000000000001, 0, "", 1, 0}}};
  const Submit back = RoundTrip(submit);
  EXPECT_EQ(back.request_id, 42u);
  ASSERT_EQ(back.jobs.size(), 2u);
  EXPECT_EQ(back.jobs[0].id, "id1");
  EXPECT_EQ(back.jobs[0].input, R"("héllo")");
  EXPECT_EQ(back.jobs[0].attempts, 1u);
  EXPECT_EQ(back.jobs[0].created_us, 1700000000000000);
  EXPECT_EQ(back.jobs[0].timeout_ms, 250);
  EXPECT_EQ(back.jobs[0].tenant, "acme");
  EXPECT_EQ(back.jobs[0].tenant_weight, 3u);
  EXPECT_EQ(back.jobs[0].tenant_max_queued, 500u);
  EXPECT_EQ(back.jobs[1].priority, -2);
  EXPECT_EQ(back.jobs[1].type, "sleep");
}

TEST(WireTest, AcceptAndStatusRoundTrip) {
  const Accept accept = RoundTrip(Accept{7, {{}, {"queue_full", "full", 1500}}});
  ASSERT_EQ(accept.verdicts.size(), 2u);
  EXPECT_TRUE(accept.verdicts[0].code.empty());
  EXPECT_EQ(accept.verdicts[1].retry_after_ms, 1500);

  const TypeStatus type{"upper", 32,  5000, 100,  7,       2,    3,   1500,     2000.5,
                        50.25,   900, 880,  true, {8, 16}, 4096, 250, {1, 0, 3}};
  Status status{9, {type}, {{"w", {"upper"}, "cuda", "H200", 2, 1, 99}}, false, 12};
  const Status back = RoundTrip(status);
  EXPECT_FALSE(back.active) << "a standby's status says so";
  EXPECT_EQ(back.epoch, 12u);
  ASSERT_EQ(back.types.size(), 1u);
  EXPECT_EQ(back.types[0].queue_depth, 7u);
  EXPECT_EQ(back.types[0].cost_fixed_us, 2000.5);
  EXPECT_EQ(back.types[0].preferred_batch_sizes, (std::vector<std::uint32_t>{8, 16}));
  EXPECT_EQ(back.types[0].default_timeout_ms, 250);
  EXPECT_EQ(back.types[0].batch_sizes, (std::vector<std::uint64_t>{1, 0, 3}));
  ASSERT_EQ(back.workers.size(), 1u);
  EXPECT_EQ(back.workers[0].device, "H200");
  EXPECT_EQ(back.workers[0].batches_done, 99u);
}

TEST(WireTest, WorkerMessagesRoundTrip) {
  const Ready ready = RoundTrip(Ready{"w1", {"upper", "sleep"}, 2, "cpu", "cpu"});
  EXPECT_EQ(ready.types, (std::vector<std::string>{"upper", "sleep"}));
  const Batch batch =
      RoundTrip(Batch{"b-1", "upper", 123456789, "max_delay", {{"j", 2, R"("x")"}}, 41});
  EXPECT_EQ(batch.close_reason, "max_delay");
  EXPECT_EQ(batch.epoch, 41u) << "the fence travels with the batch";
  ASSERT_EQ(batch.jobs.size(), 1u);
  EXPECT_EQ(batch.jobs[0].attempt, 2u);
  EXPECT_EQ(batch.dispatched_us, 123456789);
  EXPECT_EQ(RoundTrip(Done{"b-1", 5, 777, {}}).exec_us, 777);
  const Done with_retries = RoundTrip(Done{"b-2", 2, 1, {{"j1", 250}, {"j2", 0}}});
  ASSERT_EQ(with_retries.retries.size(), 2u);
  EXPECT_EQ(with_retries.retries[0].id, "j1");
  EXPECT_EQ(with_retries.retries[0].delay_ms, 250);
  EXPECT_EQ(with_retries.retries[1].id, "j2");
  EXPECT_EQ(RoundTrip(Heartbeat{5}).sent_us, 5);
  EXPECT_EQ(RoundTrip(Disconnect{"bye"}).reason, "bye");
  EXPECT_EQ(RoundTrip(Ping{3}).seq, 3u);
  EXPECT_EQ(RoundTrip(Cancel{"abc"}).id, "abc");
}

TEST(WireTest, RejectsAHeaderOfTheWrongSize) {
  auto decoded = Decode("\x01", "");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kBadFrame);
}

TEST(WireTest, RejectsAnotherProtocolVersion) {
  const Frames frames = Encode(Ping{1});
  std::string header = frames.header;
  header[0] = 2;
  auto decoded = Decode(header, frames.body);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kBadVersion);
}

TEST(WireTest, RejectsAnUnknownCommand) {
  auto decoded = Decode(std::string{1, 99}, Encode(Ping{1}).body);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kBadFrame);
}

TEST(WireTest, RejectsGarbageAndTruncatedBodies) {
  const Frames frames = Encode(Submit{1, {{"id", "upper", 0, 0, "\"x\"", 0, 0, "", 1, 0}}});
  EXPECT_FALSE(Decode(frames.header, "\xc1\xc1\xc1"));
  EXPECT_FALSE(Decode(frames.header, frames.body.substr(0, frames.body.size() / 2)));
  EXPECT_FALSE(Decode(frames.header, ""));
}

TEST(WireTest, RejectsABodyOfAnotherMessage) {
  // A Ping body is a one-field array; a Submit needs two fields.
  const Frames submit = Encode(Submit{});
  const Frames ping = Encode(Ping{1});
  auto decoded = Decode(submit.header, ping.body);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kBadFrame);
}

TEST(WireTest, RejectsFieldsOfTheWrongType) {
  // Ping{seq} with a string where the number belongs: ["x"] in msgpack.
  const std::string body = "\x91\xa1x";
  auto decoded = Decode(Encode(Ping{}).header, body);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kBadFrame);
}

}  // namespace
}  // namespace batchq::wire

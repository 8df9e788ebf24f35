#pragma once
// Drives a BrokerCore by hand for tests: a clock moved with Advance(), events with
// short names, and the batches an effect list carries.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker_core.h"

namespace batchq::test {

class CoreHarness {
 public:
  static BrokerCore::Options DefaultOptions(TypeSettings type) {
    BrokerCore::Options options;
    options.policy = BatchPolicy::Options{TypeSettings{}, std::chrono::milliseconds(100)};
    options.types = {std::move(type)};
    options.heartbeat_interval = std::chrono::seconds(1);
    options.heartbeat_liveness = 3;
    options.max_attempts = 3;
    options.running_lease = std::chrono::seconds(60);
    return options;
  }
  static TypeSettings Upper() {
    TypeSettings upper;
    upper.name = "upper";
    upper.max_batch_size = 8;
    upper.max_delay = std::chrono::microseconds(0);
    return upper;
  }

  explicit CoreHarness(TypeSettings type = Upper()) : core(DefaultOptions(std::move(type))) {}

  void Advance(std::chrono::nanoseconds by) {
    now.steady += by;
    now.wall += std::chrono::duration_cast<WallMicros>(by);
  }

  Effects Submit(const std::vector<std::string>& ids, const std::string& type = "upper",
                 std::int64_t timeout_ms = 0) {
    wire::Submit submit;
    submit.request_id = ++requests_;
    for (const auto& id : ids) {
      submit.jobs.push_back(
          wire::SubmitJob{id, type, 0, 0, "\"x\"", now.wall.count(), timeout_ms, "", 1, 0});
    }
    Effects out;
    core.OnSubmit("gw", std::move(submit), now, out);
    return out;
  }

  Effects Worker(const std::string& worker, wire::Message message) {
    Effects out;
    core.OnWorkerMessage(worker, std::move(message), now, out);
    return out;
  }

  Effects Ready(const std::string& worker, std::uint32_t credits) {
    return Worker(worker, wire::Ready{worker, {"upper"}, credits, "cpu", "cpu"});
  }

  Effects Done(const std::string& worker, const wire::Batch& batch) {
    return Worker(
        worker,
        wire::Done{batch.batch_id, static_cast<std::uint32_t>(batch.jobs.size()), 1000, {}});
  }

  Effects HeartbeatTick() {
    Effects out;
    core.OnHeartbeatTick(now, out);
    return out;
  }

  // OnTick, and the batches it sent, with the worker each went to.
  std::vector<std::pair<std::string, wire::Batch>> TickBatches() {
    Effects out;
    core.OnTick(now, out);
    std::vector<std::pair<std::string, wire::Batch>> batches;
    for (auto& outbound : out.to_workers) {
      if (auto* batch = std::get_if<wire::Batch>(&outbound.message)) {
        batches.emplace_back(outbound.routing, std::move(*batch));
      }
    }
    return batches;
  }

  JobRecord Record(std::string id, JobStatus status, std::uint32_t attempts, WallMicros at) {
    JobRecord record;
    record.id = std::move(id);
    record.type = "upper";
    record.status = status;
    record.attempts = attempts;
    record.input = "\"x\"";
    record.created = at;
    record.started = status == JobStatus::kQueued ? WallMicros(0) : at;
    return record;
  }

  BrokerCore core;
  Now now{MonotonicTime(std::chrono::hours(1)), WallMicros(1'800'000'000'000'000)};

 private:
  std::uint64_t requests_ = 0;
};

}  // namespace batchq::test

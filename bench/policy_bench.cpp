// The broker's decisions alone, one core, no I/O: the batching policy (enqueue + batch
// formation), the whole broker core (SUBMIT → BATCH → DONE), and the wire codec.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "broker/batch_policy.h"
#include "broker/broker_core.h"
#include "common/wire.h"

namespace batchq {
namespace {

void BM_EnqueueAndFormBatches(benchmark::State& state) {
  TypeSettings settings;
  settings.name = "upper";
  settings.max_batch_size = static_cast<std::uint32_t>(state.range(0));
  settings.max_queue = 1u << 30;
  BatchPolicy policy(settings);
  policy.Configure(settings);
  const auto always = [](std::string_view) { return Capacity{true, false, 2}; };
  MonotonicTime now{};
  std::uint64_t jobs = 0;
  std::uint64_t batches = 0;
  std::string ids[256];
  for (int i = 0; i < 256; ++i) ids[i] = "job-" + std::to_string(i) + "-0123456789abcdef";
  for (auto _ : state) {
    for (int i = 0; i < 256; ++i) {
      (void)policy.Enqueue("upper", QueuedJob{ids[i], "", 0, 0, "\"payload\"", now, {}});
    }
    jobs += 256;
    for (auto decision = policy.Next(now, always); decision.batch;
         decision = policy.Next(now, always)) {
      ++batches;
      benchmark::DoNotOptimize(decision.batch->jobs.data());
    }
    now += std::chrono::microseconds(10);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(jobs));
  state.counters["batches"] = static_cast<double>(batches);
}
BENCHMARK(BM_EnqueueAndFormBatches)->Arg(8)->Arg(32)->Arg(128);

// The same with the jobs spread over N tenants (fair share picks whose turn it is for
// every job taken), batches of 32.
void BM_EnqueueAndFormBatchesTenants(benchmark::State& state) {
  TypeSettings settings;
  settings.name = "upper";
  settings.max_batch_size = 32;
  settings.max_queue = 1u << 30;
  BatchPolicy policy(settings);
  policy.Configure(settings);
  const auto always = [](std::string_view) { return Capacity{true, false, 2}; };
  const auto tenants = static_cast<int>(state.range(0));
  MonotonicTime now{};
  std::uint64_t jobs = 0;
  std::string ids[256];
  std::string names[256];
  for (int i = 0; i < 256; ++i) {
    ids[i] = "job-" + std::to_string(i) + "-0123456789abcdef";
    names[i] = "tenant-" + std::to_string(i % tenants);
  }
  for (auto _ : state) {
    for (int i = 0; i < 256; ++i) {
      (void)policy.Enqueue("upper", QueuedJob{ids[i], names[i], 0, 0, "\"payload\"", now, {}});
    }
    jobs += 256;
    for (auto decision = policy.Next(now, always); decision.batch;
         decision = policy.Next(now, always)) {
      benchmark::DoNotOptimize(decision.batch->jobs.data());
    }
    now += std::chrono::microseconds(10);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(jobs));
}
BENCHMARK(BM_EnqueueAndFormBatchesTenants)->Arg(1)->Arg(4)->Arg(16)->Arg(64);

// Every job through BrokerCore as the broker process drives it: a SUBMIT of one job
// (the ACCEPT effect), OnTick forming batches for two workers with two credits each
// (the BATCH effects), and each batch's DONE.
void BM_BrokerCoreSubmitToDone(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  TypeSettings settings;
  settings.name = "upper";
  settings.max_batch_size = static_cast<std::uint32_t>(state.range(0));
  settings.max_queue = 1u << 30;
  BrokerCore::Options options;
  options.types = {settings};
  BrokerCore core(options);
  Now now{MonotonicTime{}, WallMicros(1'800'000'000'000'000)};
  for (const char* worker : {"w1", "w2"}) {
    Effects ignored;
    core.OnWorkerMessage(worker, wire::Ready{worker, {"upper"}, 2, "cpu", "cpu", 0}, now, ignored);
  }
  std::uint64_t jobs = 0;
  std::uint64_t counter = 0;
  for (auto _ : state) {
    Effects out;
    for (int i = 0; i < 256; ++i) {
      wire::Submit submit{++counter, {}};
      submit.jobs.push_back(wire::SubmitJob{"job-" + std::to_string(counter) + "-0123456789abcdef",
                                            "upper", 0, 0, "\"payload\"", now.wall.count(), 0, "",
                                            1, 0});
      core.OnSubmit("gateway", std::move(submit), now, out);
    }
    jobs += 256;
    for (;;) {
      Effects dispatched;
      core.OnTick(now, dispatched);
      if (dispatched.to_workers.empty()) break;
      for (auto& outbound : dispatched.to_workers) {
        const auto& batch = std::get<wire::Batch>(outbound.message);
        Effects done;
        core.OnWorkerMessage(
            outbound.routing,
            wire::Done{batch.batch_id, static_cast<std::uint32_t>(batch.jobs.size()), 100, {}}, now,
            done);
      }
    }
    benchmark::DoNotOptimize(out.to_gateways.data());
    now.steady += std::chrono::microseconds(10);
    now.wall += std::chrono::microseconds(10);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(jobs));
}
BENCHMARK(BM_BrokerCoreSubmitToDone)->Arg(32)->Arg(128);

void BM_WireBatchRoundTrip(benchmark::State& state) {
  wire::Batch batch{"b-1", "upper", 1, "full", {}};
  for (int i = 0; i < state.range(0); ++i) {
    batch.jobs.push_back(wire::BatchJob{"0123456789abcdef0123456789abcdef", 1, "\"hello batchq\""});
  }
  for (auto _ : state) {
    const auto frames = wire::Encode(batch);
    auto decoded = wire::Decode(frames.header, frames.body);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WireBatchRoundTrip)->Arg(1)->Arg(32);

}  // namespace
}  // namespace batchq

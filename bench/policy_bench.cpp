// The batching policy alone: enqueue + batch formation, one core, no I/O.
#include <benchmark/benchmark.h>

#include "broker/batch_policy.h"
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
      (void)policy.Enqueue("upper", QueuedJob{ids[i], 0, 0, "\"payload\"", now, {}});
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

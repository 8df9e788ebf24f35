#include "broker/batch_policy.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace batchq {

std::string_view ToString(CloseReason reason) {
  switch (reason) {
    case CloseReason::kFull:
      return "full";
    case CloseReason::kBytes:
      return "bytes";
    case CloseReason::kPreferred:
      return "preferred";
    case CloseReason::kDeadline:
      return "deadline";
    case CloseReason::kMaxDelay:
      return "max_delay";
    case CloseReason::kIdleWorker:
      return "idle_worker";
    case CloseReason::kIsolated:
      return "isolated";
  }
  return "unknown";
}

std::size_t BatchSizeBucket(std::size_t size) {
  std::size_t bucket = 0;
  for (std::size_t bound = 1; bound < size && bucket + 1 < kBatchSizeBuckets; bound *= 2) {
    ++bucket;
  }
  return bucket;
}

BatchPolicy::BatchPolicy(Options options) : options_(std::move(options)) {}

void BatchPolicy::Configure(const TypeSettings& settings) {
  auto [it, inserted] = queues_.try_emplace(settings.name);
  it->second.settings = settings;
  if (inserted) order_.push_back(settings.name);
}

void BatchPolicy::AddType(std::string_view name) {
  if (Knows(name)) return;
  TypeSettings settings = options_.defaults;
  settings.name = std::string(name);
  Configure(settings);
}

bool BatchPolicy::Knows(std::string_view type) const { return Find(type) != nullptr; }

std::chrono::milliseconds BatchPolicy::MaxRun(std::string_view type, std::uint32_t size) const {
  const TypeQueue* queue = Find(type);
  if (queue == nullptr) return kMaxRunFloor;
  if (queue->settings.max_run.count() > 0) return queue->settings.max_run;
  if (!queue->cost.known()) return kMaxRunFloor;
  // Generous: a batch ten times slower than usual is still running, not hung.
  const auto learned = std::chrono::ceil<std::chrono::milliseconds>(queue->cost.Predict(size) * 10);
  return std::max(kMaxRunFloor, learned);
}

BatchPolicy::TypeQueue* BatchPolicy::Find(std::string_view type) {
  const auto it = queues_.find(type);
  return it == queues_.end() ? nullptr : &it->second;
}

const BatchPolicy::TypeQueue* BatchPolicy::Find(std::string_view type) const {
  const auto it = queues_.find(type);
  return it == queues_.end() ? nullptr : &it->second;
}

bool BatchPolicy::IsLive(const TypeQueue& queue, const Slot& slot) const {
  const auto it = queue.live.find(slot.job.id);
  return it != queue.live.end() && it->second.seq == slot.seq;
}

void BatchPolicy::Push(TypeQueue& queue, QueuedJob job, bool front,
                       std::optional<std::uint32_t> weight) {
  if (!job.deadline && queue.settings.default_timeout.count() > 0) {
    job.deadline = job.enqueued + queue.settings.default_timeout;
  }
  const MonotonicTime latest = job.enqueued + options_.queue_lifetime;
  job.deadline = job.deadline ? std::min(*job.deadline, latest) : latest;
  const std::uint64_t seq = next_seq_++;
  if (job.deadline) queue.deadlines.push(DeadlineEntry{*job.deadline, seq, job.id});
  // Re-inserting (not assigning) binds the key to the new slot's id, in case an older
  // dead slot of the same id still holds the current key.
  if (const auto old = queue.live.find(job.id); old != queue.live.end()) Unlive(queue, old);
  auto tenant_it = queue.tenants.find(job.tenant);
  if (tenant_it == queue.tenants.end()) tenant_it = queue.tenants.try_emplace(job.tenant).first;
  TenantQueue& tenant = tenant_it->second;
  if (weight) tenant.weight = std::max<std::uint32_t>(1, *weight);
  if (tenant.live == 0) {
    // A tenant with nothing queued joins at the current pass: idle time banks no turns.
    tenant.pass = std::max(tenant.pass, queue.virtual_time);
    ++queue.active_tenants;
  }
  ++tenant.live;
  tenant.bytes += job.input.size();
  queue.bytes += job.input.size();
  auto& level = tenant.levels[job.priority];
  const Slot& slot = front ? level.emplace_front(Slot{std::move(job), seq})
                           : level.emplace_back(Slot{std::move(job), seq});
  queue.live.emplace(std::string_view(slot.job.id),
                     TypeQueue::Live{seq, slot.job.input.size(), slot.job.enqueued, &tenant});
}

void BatchPolicy::Unlive(TypeQueue& queue, decltype(TypeQueue::live)::iterator entry) {
  queue.bytes -= entry->second.bytes;
  entry->second.tenant->bytes -= entry->second.bytes;
  if (--entry->second.tenant->live == 0) --queue.active_tenants;
  queue.live.erase(entry);
}

Status BatchPolicy::Enqueue(std::string_view type, QueuedJob job, TenantLimits limits) {
  TypeQueue* queue = Find(type);
  if (queue == nullptr) {
    return Fail(ErrorCode::kUnknownType,
                fmt::format("No job type '{}' is configured or served.", type));
  }
  if (queue->live.size() >= queue->settings.max_queue) {
    return Fail(ErrorCode::kQueueFull, fmt::format("The queue for '{}' holds its limit of {} jobs.",
                                                   type, queue->settings.max_queue));
  }
  if (limits.max_queued > 0 && TenantDepth(job.tenant) >= limits.max_queued) {
    return Fail(ErrorCode::kQuotaExceeded,
                fmt::format("Tenant '{}' holds its limit of {} queued jobs.", job.tenant,
                            limits.max_queued));
  }
  if (limits.max_queued_bytes > 0 &&
      TenantBytes(job.tenant) + job.input.size() > limits.max_queued_bytes) {
    return Fail(ErrorCode::kQuotaExceeded,
                fmt::format("Tenant '{}' holds {} bytes of queued input; {} more would pass its "
                            "limit of {}.",
                            job.tenant, TenantBytes(job.tenant), job.input.size(),
                            limits.max_queued_bytes));
  }
  queue->arrivals.Add(job.enqueued);
  Push(*queue, std::move(job), /*front=*/false, limits.weight);
  return Ok();
}

void BatchPolicy::Requeue(std::string_view type, std::vector<QueuedJob> jobs) {
  TypeQueue* found = Find(type);
  if (found == nullptr) throw std::logic_error(fmt::format("requeue of unknown type '{}'", type));
  TypeQueue& queue = *found;
  // Reverse order keeps the batch's original order at the front of each level.
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    Push(queue, std::move(*it), /*front=*/true, std::nullopt);
  }
}

bool BatchPolicy::Remove(std::string_view id) {
  for (auto& [name, queue] : queues_) {
    const auto it = queue.live.find(id);
    if (it == queue.live.end()) continue;
    // The slot stays in its deque and is skipped when it comes to the front.
    Unlive(queue, it);
    return true;
  }
  return false;
}

void BatchPolicy::ObserveBatch(std::string_view type, std::uint32_t size,
                               std::chrono::microseconds exec) {
  if (TypeQueue* queue = Find(type)) queue->cost.Observe(size, exec);
}

void BatchPolicy::DropDeadFronts(TypeQueue& queue) {
  for (auto& [name, tenant] : queue.tenants) {
    for (auto it = tenant.levels.begin(); it != tenant.levels.end();) {
      auto& level = it->second;
      while (!level.empty() && !IsLive(queue, level.front())) level.pop_front();
      it = level.empty() ? tenant.levels.erase(it) : std::next(it);
    }
  }
}

BatchPolicy::TenantQueue* BatchPolicy::NextTenant(TypeQueue& queue) {
  TenantQueue* next = nullptr;
  const std::string* next_name = nullptr;
  for (auto& [name, tenant] : queue.tenants) {
    if (tenant.live == 0) continue;
    // Ties go to the smaller name, so the order does not depend on the hash table.
    if (next == nullptr || tenant.pass < next->pass ||
        (tenant.pass == next->pass && name < *next_name)) {
      next = &tenant;
      next_name = &name;
    }
  }
  return next;
}

std::deque<BatchPolicy::Slot>* BatchPolicy::NextLevel(TypeQueue& queue, MonotonicTime now) {
  TenantQueue* tenant = NextTenant(queue);
  return tenant == nullptr ? nullptr : BestLevel(*tenant, now);
}

std::optional<MonotonicTime> BatchPolicy::EarliestDeadline(TypeQueue& queue) {
  while (!queue.deadlines.empty()) {
    const auto& top = queue.deadlines.top();
    const auto it = queue.live.find(top.id);
    if (it != queue.live.end() && it->second.seq == top.seq) return top.deadline;
    queue.deadlines.pop();  // dispatched, cancelled or expired already
  }
  return std::nullopt;
}

MonotonicTime BatchPolicy::Oldest(TypeQueue& queue) {
  DropDeadFronts(queue);
  MonotonicTime oldest = MonotonicTime::max();
  for (const auto& [name, tenant] : queue.tenants) {
    for (const auto& [priority, level] : tenant.levels) {
      oldest = std::min(oldest, level.front().job.enqueued);
    }
  }
  return oldest;
}

void BatchPolicy::Expire(const std::string& type, TypeQueue& queue, MonotonicTime now,
                         std::vector<ExpiredJob>& out) {
  while (auto earliest = EarliestDeadline(queue)) {
    if (*earliest >= now) return;
    const DeadlineEntry entry = queue.deadlines.top();
    queue.deadlines.pop();
    const auto it = queue.live.find(entry.id);  // live: EarliestDeadline checked it
    out.push_back(ExpiredJob{
        type, entry.id,
        std::chrono::duration_cast<std::chrono::microseconds>(now - it->second.enqueued)});
    Unlive(queue, it);
  }
}

std::deque<BatchPolicy::Slot>* BatchPolicy::BestLevel(TenantQueue& tenant, MonotonicTime now) {
  std::deque<Slot>* best = nullptr;
  std::int64_t best_rank = 0;
  const auto aging = options_.aging_step;
  for (auto& [priority, level] : tenant.levels) {
    if (level.empty()) continue;
    const Slot& front = level.front();
    std::int64_t rank = priority;
    if (aging.count() > 0) rank += (now - front.job.enqueued) / aging;
    if (best == nullptr || rank > best_rank ||
        (rank == best_rank && front.job.enqueued < best->front().job.enqueued)) {
      best = &level;
      best_rank = rank;
    }
  }
  return best;
}

std::vector<QueuedJob> BatchPolicy::Take(TypeQueue& queue, std::size_t count, MonotonicTime now) {
  std::vector<QueuedJob> batch;
  batch.reserve(std::min(count, queue.live.size()));
  std::size_t batch_bytes = 0;
  DropDeadFronts(queue);
  TenantQueue* tenant = nullptr;
  while (batch.size() < count) {
    // Every level's front is live here, so the best front is taken as is. With one
    // tenant queued there is no turn to choose: it keeps the one it has.
    if (tenant == nullptr || tenant->live == 0 || queue.active_tenants > 1) {
      tenant = NextTenant(queue);
    }
    std::deque<Slot>* best = tenant == nullptr ? nullptr : BestLevel(*tenant, now);
    if (best == nullptr) break;
    const bool alone = best->front().job.suspect;
    if (alone && !batch.empty()) break;  // it goes next, by itself
    const std::size_t size = best->front().job.input.size();
    const std::size_t limit = queue.settings.max_batch_bytes;
    if (limit > 0 && !batch.empty() && batch_bytes + size > limit) break;
    batch_bytes += size;
    queue.live.erase(best->front().job.id);
    tenant->bytes -= size;
    if (--tenant->live == 0) --queue.active_tenants;
    queue.virtual_time = tenant->pass;
    tenant->pass += 1.0 / tenant->weight;
    batch.push_back(std::move(best->front().job));
    best->pop_front();
    while (!best->empty() && !IsLive(queue, best->front())) best->pop_front();
    if (alone) break;
  }
  queue.bytes -= batch_bytes;
  DropDeadFronts(queue);
  queue.dispatched.Add(now, static_cast<double>(batch.size()));
  ++queue.batch_sizes[BatchSizeBucket(batch.size())];
  return batch;
}

double BatchPolicy::TargetSize(const TypeQueue& queue, std::uint32_t workers,
                               MonotonicTime now) const {
  const double max_size = queue.settings.max_batch_size;
  if (!queue.cost.known()) return 1;  // no evidence yet that waiting pays
  const double per_us = queue.arrivals.PerSecond(now) / 1e6;
  const double spare = std::max(1u, workers) - per_us * queue.cost.per_item_us();
  // Arrivals outrun the workers at any batch size: grow to full (or max_delay).
  if (spare <= 0) return max_size;
  // The smallest n whose batches, taking a + b·n each, keep up with the arrivals.
  return std::clamp(std::ceil(per_us * queue.cost.fixed_us() / spare), 1.0, max_size);
}

BatchPolicy::Decision BatchPolicy::Next(MonotonicTime now,
                                        const std::function<Capacity(std::string_view)>& capacity) {
  Decision decision;
  auto wake = [&decision](MonotonicTime at) {
    if (!decision.wake_at || at < *decision.wake_at) decision.wake_at = at;
  };
  for (auto& [name, queue] : queues_) Expire(name, queue, now, decision.expired);

  const std::size_t types = order_.size();
  for (std::size_t step = 0; step < types; ++step) {
    const std::size_t index = (next_type_ + step) % types;
    TypeQueue& queue = queues_.at(order_[index]);
    if (queue.live.empty()) continue;
    const auto& settings = queue.settings;
    const auto earliest = EarliestDeadline(queue);
    const Capacity cap = capacity(order_[index]);
    if (!cap.free_credit) {
      // Nothing can be dispatched; only expiry can be due.
      if (earliest) wake(*earliest + std::chrono::nanoseconds(1));
      continue;
    }
    const std::size_t depth = queue.live.size();
    const MonotonicTime oldest = Oldest(queue);  // also drops dead fronts
    if (const auto* best = NextLevel(queue, now); best != nullptr && best->front().job.suspect) {
      // A suspect waits for an idle worker; a worker going idle is an event that calls
      // Next again, so only its deadline needs a wake-up.
      if (!cap.idle_worker) {
        if (earliest) wake(*earliest + std::chrono::nanoseconds(1));
        continue;
      }
      next_type_ = (index + 1) % types;
      decision.batch = ReadyBatch{order_[index], Take(queue, 1, now), CloseReason::kIsolated, true};
      return decision;
    }
    std::size_t count = settings.max_batch_size;
    std::optional<CloseReason> reason;
    double target = 0;
    if (depth >= settings.max_batch_size) {
      reason = CloseReason::kFull;
    } else if (settings.max_batch_bytes > 0 && queue.bytes >= settings.max_batch_bytes) {
      reason = CloseReason::kBytes;
    } else if (const auto& sizes = settings.preferred_batch_sizes;
               !sizes.empty() && sizes.front() <= depth) {
      reason = CloseReason::kPreferred;
      count = *std::prev(std::upper_bound(sizes.begin(), sizes.end(), depth));
    } else if (earliest && now >= *earliest) {
      reason = CloseReason::kDeadline;
    } else if (now >= oldest + settings.max_delay) {
      reason = CloseReason::kMaxDelay;
    } else if (settings.adaptive && cap.idle_worker &&
               static_cast<double>(depth) >= (target = TargetSize(queue, cap.workers, now))) {
      reason = CloseReason::kIdleWorker;
    }
    if (!reason) {
      wake(oldest + settings.max_delay);
      if (earliest) wake(*earliest);
      const double per_s = queue.arrivals.PerSecond(now);
      if (settings.adaptive && cap.idle_worker && per_s > 0) {
        const double missing = target - static_cast<double>(depth);
        wake(now + std::chrono::microseconds(static_cast<std::int64_t>(missing / per_s * 1e6)));
      }
      continue;
    }
    next_type_ = (index + 1) % types;
    decision.batch = ReadyBatch{order_[index], Take(queue, count, now), *reason, false};
    return decision;
  }
  return decision;
}

namespace {
// Retry-After for a refused submit: the queue's drain time, within these bounds.
constexpr std::chrono::seconds kMinRetryAfter{1};
constexpr std::chrono::seconds kMaxRetryAfter{300};
// When nothing drains (no worker yet, or just started) there is no rate to go by.
constexpr std::chrono::seconds kRetryAfterWhenIdle{5};
}  // namespace

std::chrono::seconds BatchPolicy::RetryAfter(std::string_view type, MonotonicTime now) const {
  const TypeQueue* queue = Find(type);
  if (queue == nullptr) return kMinRetryAfter;
  const double rate = queue->dispatched.PerSecond(now);
  if (rate <= 0) return kRetryAfterWhenIdle;
  const double eta = static_cast<double>(queue->live.size()) / rate;
  return std::chrono::seconds(std::clamp<std::int64_t>(
      std::llround(std::ceil(eta)), kMinRetryAfter.count(), kMaxRetryAfter.count()));
}

std::optional<std::chrono::microseconds> BatchPolicy::ProjectedWait(std::string_view type,
                                                                    std::uint32_t workers,
                                                                    MonotonicTime now) const {
  const TypeQueue* queue = Find(type);
  if (queue == nullptr || workers == 0) return std::nullopt;
  double per_s = queue->dispatched.PerSecond(now);
  if (queue->cost.known()) {
    const std::uint32_t full = queue->settings.max_batch_size;
    const double batch_s = std::chrono::duration<double>(queue->cost.Predict(full)).count();
    if (batch_s > 0) per_s = std::max(per_s, workers * full / batch_s);
  }
  if (per_s <= 0) return std::nullopt;
  const double wait_s = static_cast<double>(queue->live.size()) / per_s;
  return std::chrono::microseconds(std::llround(std::min(wait_s, 86'400.0) * 1e6));
}

bool BatchPolicy::BoundsQueueWait(std::string_view type) const {
  const TypeQueue* queue = Find(type);
  return queue != nullptr && queue->settings.max_queue_wait.count() > 0;
}

std::optional<BatchPolicy::QueueWaitRefusal> BatchPolicy::RefuseForQueueWait(
    std::string_view type, std::uint32_t workers, MonotonicTime now) const {
  const TypeQueue* queue = Find(type);
  if (queue == nullptr || queue->settings.max_queue_wait.count() == 0) return std::nullopt;
  const auto wait = ProjectedWait(type, workers, now);
  if (!wait || *wait <= queue->settings.max_queue_wait) return std::nullopt;
  const double excess_s =
      std::chrono::duration<double>(*wait - queue->settings.max_queue_wait).count();
  const auto retry_after = std::chrono::seconds(std::clamp<std::int64_t>(
      std::llround(std::ceil(excess_s)), kMinRetryAfter.count(), kMaxRetryAfter.count()));
  return QueueWaitRefusal{
      Error{ErrorCode::kQueueWaitExceeded,
            fmt::format("The queue for '{}' holds {} jobs, about {:.1f} s of work for its {} "
                        "worker(s), past its bound of {} ms; retry in {} s.",
                        type, queue->live.size(), std::chrono::duration<double>(*wait).count(),
                        workers, queue->settings.max_queue_wait.count(), retry_after.count())},
      retry_after};
}

std::vector<BatchPolicy::TypeStats> BatchPolicy::Stats(MonotonicTime now) const {
  std::vector<TypeStats> out;
  out.reserve(order_.size());
  for (const auto& name : order_) {
    const TypeQueue& queue = queues_.at(name);
    TypeStats stats;
    stats.settings = queue.settings;
    stats.depth = queue.live.size();
    MonotonicTime oldest = MonotonicTime::max();
    for (const auto& [tenant_name, tenant] : queue.tenants) {
      for (const auto& [priority, level] : tenant.levels) {
        for (const auto& slot : level) {
          if (!IsLive(queue, slot)) continue;  // skip to the first live slot of the level
          oldest = std::min(oldest, slot.job.enqueued);
          break;
        }
      }
    }
    if (oldest != MonotonicTime::max()) {
      stats.oldest_wait = std::chrono::duration_cast<std::chrono::microseconds>(now - oldest);
    }
    stats.cost_fixed_us = queue.cost.fixed_us();
    stats.cost_per_item_us = queue.cost.per_item_us();
    stats.arrivals_per_s = queue.arrivals.PerSecond(now);
    stats.dispatched_per_s = queue.dispatched.PerSecond(now);
    stats.batch_sizes = queue.batch_sizes;
    out.push_back(std::move(stats));
  }
  return out;
}

std::size_t BatchPolicy::SumForTenant(std::string_view tenant,
                                      std::size_t TenantQueue::*member) const {
  std::size_t sum = 0;
  for (const auto& [name, queue] : queues_) {
    if (const auto it = queue.tenants.find(tenant); it != queue.tenants.end()) {
      sum += it->second.*member;
    }
  }
  return sum;
}

std::size_t BatchPolicy::TenantDepth(std::string_view tenant) const {
  return SumForTenant(tenant, &TenantQueue::live);
}

std::size_t BatchPolicy::TenantBytes(std::string_view tenant) const {
  return SumForTenant(tenant, &TenantQueue::bytes);
}

std::size_t BatchPolicy::Depth(std::string_view type) const {
  const TypeQueue* queue = Find(type);
  return queue == nullptr ? 0 : queue->live.size();
}

}  // namespace batchq

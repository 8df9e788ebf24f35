#include "gateway/broker_liveness.h"

namespace batchq {
namespace {

std::int64_t Nanos(BrokerLiveness::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

BrokerLiveness::BrokerLiveness(std::chrono::milliseconds ping_interval, std::uint32_t liveness,
                               TimePoint now)
    : window_(ping_interval * liveness), liveness_(liveness) {
  Reset(now);
}

void BrokerLiveness::Reset(TimePoint now) {
  answered_.store(false, std::memory_order_relaxed);
  heard_at_ns_.store(Nanos(now), std::memory_order_relaxed);
  unanswered_pings_.store(0, std::memory_order_relaxed);
}

void BrokerLiveness::OnPingSent() { unanswered_pings_.fetch_add(1, std::memory_order_relaxed); }

void BrokerLiveness::OnStatus(TimePoint now) {
  answered_.store(true, std::memory_order_relaxed);
  heard_at_ns_.store(Nanos(now), std::memory_order_relaxed);
  unanswered_pings_.store(0, std::memory_order_relaxed);
}

bool BrokerLiveness::Alive(TimePoint now) const {
  return answered_.load(std::memory_order_relaxed) && !Silent(now);
}

bool BrokerLiveness::Silent(TimePoint now) const {
  return unanswered_pings_.load(std::memory_order_relaxed) >= liveness_ &&
         Nanos(now) - heard_at_ns_.load(std::memory_order_relaxed) > window_.count();
}

}  // namespace batchq

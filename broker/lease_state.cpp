#include "broker/lease_state.h"

namespace batchq {
namespace {

// Standbys try this often, so a lapsed lease is taken within a tenth of it.
constexpr int kTriesPerLease = 10;
// Renewals per lease: two can fail (a Redis hiccup) before it lapses.
constexpr int kRenewalsPerLease = 3;
// The share of the lease given up to clock-rate drift between this host and Redis's.
constexpr int kDriftShare = 10;

}  // namespace

LeaseState::LeaseState(Options options) : options_(options) {}

LeaseState::Change LeaseState::OnAnswer(std::uint64_t epoch, MonotonicTime sent,
                                        MonotonicTime now) {
  if (epoch == 0 || (active() && epoch != epoch_)) {
    const bool was_active = active();
    next_call_at_ = now + options_.lease / kTriesPerLease;
    if (!was_active) return Change::kNone;
    return StepDown(now);
  }
  const bool was_active = active();
  epoch_ = epoch;
  held_until_ = sent + options_.lease - options_.lease / kDriftShare;
  next_call_at_ = sent + options_.lease / kRenewalsPerLease;
  if (held_until_ <= now) return StepDown(now);  // the answer came too late to act on
  return was_active ? Change::kNone : Change::kBecameActive;
}

LeaseState::Change LeaseState::OnNoAnswer(MonotonicTime now) {
  next_call_at_ = now + options_.lease / kTriesPerLease;
  return Check(now);
}

LeaseState::Change LeaseState::Check(MonotonicTime now) {
  if (!active() || now < held_until_) return Change::kNone;
  return StepDown(now);
}

LeaseState::Change LeaseState::StepDown(MonotonicTime now) {
  epoch_ = 0;
  held_until_ = MonotonicTime{};
  next_call_at_ = now;  // try again at once: the lease may be free
  return Change::kDeposed;
}

}  // namespace batchq

#include "gateway/broker_move_pacing.h"

#include <algorithm>

namespace batchq {

BrokerMovePacing::BrokerMovePacing(std::size_t endpoints, std::chrono::milliseconds first_pause,
                                   std::chrono::milliseconds max_pause)
    : endpoints_(std::max<std::size_t>(endpoints, 1)),
      first_pause_(first_pause),
      max_pause_(std::max(max_pause, first_pause)),
      pause_(first_pause) {}

void BrokerMovePacing::OnMoved(TimePoint now) {
  if (++moved_in_a_row_ % endpoints_ != 0) return;  // the round goes on at once
  next_allowed_ = now + pause_;
  pause_ = std::min(pause_ * 2, max_pause_);
}

void BrokerMovePacing::OnAnswered() {
  moved_in_a_row_ = 0;
  pause_ = first_pause_;
  next_allowed_ = TimePoint::min();
}

}  // namespace batchq

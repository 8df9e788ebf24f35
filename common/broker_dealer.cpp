#include "common/broker_dealer.h"

#include <stdexcept>

#include "common/broker_endpoints.h"
#include "common/zmq_transport.h"

namespace batchq {

BrokerDealer::BrokerDealer(zmq::context_t& context, Options options)
    : context_(context),
      options_(std::move(options)),
      endpoints_(SplitBrokerEndpoints(options_.endpoints)) {
  if (endpoints_.empty()) throw std::runtime_error("--broker names no endpoint");
  Connect();
}

void BrokerDealer::MoveOn() {
  current_ = (current_ + 1) % endpoints_.size();
  Connect();
}

void BrokerDealer::Connect() {
  watch_.reset();
  socket_.emplace(context_, zmq::socket_type::dealer);
  watch_.emplace(context_, *socket_);
  ApplySocketDefaults(*socket_);
  if (options_.immediate) socket_->set(zmq::sockopt::immediate, 1);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  if (options_.curve) UseCurveClient(*socket_, *options_.curve);
  socket_->connect(endpoint());
}

}  // namespace batchq

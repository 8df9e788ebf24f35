#pragma once
// What the gateway's handlers need of the broker, as an interface so they can be
// unit-tested without a broker process. BrokerLink is the ZeroMQ implementation.
// Every method is thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/wire.h"

namespace batchq {

class BrokerPort {
 public:
  // Verdicts in submit order, or an error (broker_timeout) when no answer came in time.
  using SubmitCallback = std::function<void(Result<std::vector<wire::Verdict>>)>;

  virtual ~BrokerPort() = default;
  // Hands jobs to the broker. `done` is called exactly once, possibly on another thread,
  // and must only hand work off.
  virtual void Submit(std::vector<wire::SubmitJob> jobs, std::chrono::milliseconds timeout,
                      SubmitCallback done) = 0;
  // Submits made on the calling thread from BeginBurst() to the matching EndBurst()
  // (same thread; they may nest) are held back and handed on together at the end: a
  // thread that forwards many submits in a row (the group commit's, after each group)
  // wakes the link once, and they leave in as few messages as packing allows, instead
  // of the link, on another core, waking and sending for each. No-ops by default.
  virtual void BeginBurst() {}
  virtual void EndBurst() {}
  // Fire and forget: tells the broker a job was cancelled in Redis.
  virtual void Cancel(std::string id) = 0;
  // True while the broker answers.
  virtual bool alive() const = 0;
  // The broker's latest status (types, queues, workers); never null.
  virtual std::shared_ptr<const wire::Status> status() const = 0;
};

}  // namespace batchq

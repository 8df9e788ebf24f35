#pragma once
// Submit requests that travel to the broker as one SUBMIT. Each HTTP submit hands the
// broker link one request; the link's thread packs the requests that queued up between
// two of its turns into as few messages as the bounds allow, and splits each ACCEPT's
// verdicts back to the requests, in order. One message per turn instead of one per
// request spares the per-message work on both ends (the CURVE box, the system calls,
// the broker's decode and its reply). The broker judges each job on its own, so packing
// changes no verdict. Time is an argument. Not thread-safe: the link's thread owns all
// of it.

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/wire.h"
#include "gateway/broker_port.h"

namespace batchq {

// One caller's request, as BrokerPort::Submit took it.
struct SubmitRequest {
  std::vector<wire::SubmitJob> jobs;
  std::chrono::steady_clock::time_point deadline;  // answered broker_timeout from then on
  BrokerPort::SubmitCallback done;
};

struct SubmitPackingLimits {
  std::size_t max_jobs = 512;  // per message, unless one request alone has more
  // Of the jobs' inputs, per message, unless one request alone has more: a large
  // request is not held up behind the box and decode of many others'.
  std::size_t max_input_bytes = 1u << 20;
};

// The requests of one message, waiting for its ACCEPT.
class PackedRequests {
 public:
  using Clock = std::chrono::steady_clock;

  void Add(std::size_t jobs, Clock::time_point deadline, BrokerPort::SubmitCallback done);
  // Answers every request still waiting: its own verdicts, in order, or the error. An
  // answer whose count does not match the jobs sent answers each request with an error:
  // no verdict is given to a job it may not be about.
  void Answer(Result<std::vector<wire::Verdict>> verdicts);
  // Answers `error` to each request whose deadline is at or before `now`. Returns the
  // earliest deadline of those still waiting (nullopt when none is): the link sleeps
  // until then, and no longer.
  std::optional<Clock::time_point> Expire(Clock::time_point now, const Error& error);
  // True once every request has had its answer.
  bool answered() const { return waiting_ == 0; }
  std::size_t jobs() const { return jobs_; }

 private:
  struct Part {
    std::size_t jobs = 0;
    Clock::time_point deadline;
    BrokerPort::SubmitCallback done;  // empty once answered
  };
  std::vector<Part> parts_;
  std::size_t jobs_ = 0;
  std::size_t waiting_ = 0;
};

struct PackedSubmit {
  wire::Submit submit;  // request_id left 0 for the link to number
  PackedRequests requests;
};

// Packs `requests`, in order, into messages within `limits`; a request is never split.
std::vector<PackedSubmit> PackSubmits(std::vector<SubmitRequest> requests,
                                      const SubmitPackingLimits& limits);

}  // namespace batchq

#include "gateway/submit_packing.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace batchq {

void PackedRequests::Add(std::size_t jobs, Clock::time_point deadline,
                         BrokerPort::SubmitCallback done) {
  parts_.push_back(Part{jobs, deadline, std::move(done)});
  jobs_ += jobs;
  ++waiting_;
}

void PackedRequests::Answer(Result<std::vector<wire::Verdict>> verdicts) {
  if (verdicts && verdicts->size() != jobs_) {
    verdicts =
        Fail(ErrorCode::kBadFrame,
             fmt::format("The broker answered {} verdicts for {} jobs.", verdicts->size(), jobs_));
  }
  std::size_t offset = 0;
  for (auto& part : parts_) {
    const std::size_t first = offset;
    offset += part.jobs;
    if (!part.done) continue;
    auto done = std::exchange(part.done, nullptr);
    --waiting_;
    if (!verdicts) {
      done(std::unexpected(verdicts.error()));
      continue;
    }
    // A request sent alone takes the vector itself, with no copy.
    if (first == 0 && part.jobs == verdicts->size()) {
      done(std::move(*verdicts));
      continue;
    }
    const auto begin = verdicts->begin() + static_cast<std::ptrdiff_t>(first);
    done(std::vector<wire::Verdict>(
        std::make_move_iterator(begin),
        std::make_move_iterator(begin + static_cast<std::ptrdiff_t>(part.jobs))));
  }
}

std::optional<PackedRequests::Clock::time_point> PackedRequests::Expire(Clock::time_point now,
                                                                        const Error& error) {
  std::optional<Clock::time_point> next;
  for (auto& part : parts_) {
    if (!part.done) continue;
    if (now < part.deadline) {
      next = next ? std::min(*next, part.deadline) : part.deadline;
      continue;
    }
    std::exchange(part.done, nullptr)(std::unexpected(error));
    --waiting_;
  }
  return next;
}

namespace {

std::size_t InputBytes(const std::vector<wire::SubmitJob>& jobs) {
  std::size_t bytes = 0;
  for (const auto& job : jobs) bytes += job.input.size();
  return bytes;
}

}  // namespace

std::vector<PackedSubmit> PackSubmits(std::vector<SubmitRequest> requests,
                                      const SubmitPackingLimits& limits) {
  std::vector<PackedSubmit> packed;
  std::size_t bytes = 0;
  for (auto& request : requests) {
    const std::size_t request_bytes = InputBytes(request.jobs);
    const bool fits = !packed.empty() &&
                      packed.back().requests.jobs() + request.jobs.size() <= limits.max_jobs &&
                      bytes + request_bytes <= limits.max_input_bytes;
    if (!fits) {
      packed.emplace_back();
      bytes = 0;
    }
    PackedSubmit& message = packed.back();
    bytes += request_bytes;
    message.requests.Add(request.jobs.size(), request.deadline, std::move(request.done));
    if (message.submit.jobs.empty()) {
      message.submit.jobs = std::move(request.jobs);
    } else {
      message.submit.jobs.insert(message.submit.jobs.end(),
                                 std::make_move_iterator(request.jobs.begin()),
                                 std::make_move_iterator(request.jobs.end()));
    }
  }
  return packed;
}

}  // namespace batchq

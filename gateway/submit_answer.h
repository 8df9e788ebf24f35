#pragma once
// What a submit was answered, together with what a caller that then waits for the jobs
// to end (POST ?wait_ms, submit_wait.h) needs to know without reading the answer back:
// which job each item of the request became.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/http_types.h"

namespace batchq {

struct SubmitItemOutcome {
  std::string id;  // the job this item is (accepted, or named by a replayed key); else empty
  Error error;     // why the item was refused, when `id` is empty
  std::int64_t retry_after_ms = 0;
};

struct SubmitAnswer {
  HttpReply reply;
  // One per item of the request, in order, when the reply is a 202; else empty.
  std::vector<SubmitItemOutcome> items;
};

using SubmitRespond = std::function<void(SubmitAnswer)>;

}  // namespace batchq

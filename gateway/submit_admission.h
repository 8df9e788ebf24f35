#pragma once
// The checks a submit passes before anything is written: media type, body shape, job
// types the broker serves, and the Idempotency-Key. Pure: the broker's status is an
// argument. Errors carry the HTTP API's codes.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/http_types.h"
#include "common/wire.h"
#include "gateway/request_parser.h"

namespace batchq {

struct AdmittedSubmit {
  bool batch = false;  // POST /v1/jobs:batch
  // One entry per item, in order; a :batch keeps each item's own error.
  std::vector<Result<JobRequest>> items;
  // Per item, for one refused with a time to retry after (a :batch's refused items
  // answer it); empty: none.
  std::vector<std::chrono::milliseconds> retry_after;
  std::string idempotency_key;  // single submits only; empty: none
  std::string fingerprint;      // of the body, with a key
};

struct AdmissionLimits {
  std::size_t max_batch_jobs = 1000;
  std::size_t max_idempotency_key = 255;
};

// First step: media type and body shape. A whole-request error (415, 400) or the items.
Result<AdmittedSubmit> ParseSubmit(const HttpRequestIn& request, bool batch,
                                   const AdmissionLimits& limits);
// Second step, once the broker is known to be there: job types it serves, and the
// Idempotency-Key. A single submit whose one item fails is a whole-request error; a
// :batch keeps going with the rest.
Status CheckSubmit(AdmittedSubmit& admitted, const HttpRequestIn& request,
                   const AdmissionLimits& limits, const wire::Status& served);

// FNV-1a over the body: tells a retried request from a different one under the same key.
std::string Fingerprint(std::string_view body);

}  // namespace batchq

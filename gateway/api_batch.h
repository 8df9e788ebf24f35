#pragma once
// POST /v1/batch: many API calls in one request (after Microsoft Graph's JSON batching).
//   {"requests":[{"id":"1","method":"GET","url":"/v1/jobs/abc"},
//                {"id":"2","method":"POST","url":"/v1/jobs","body":{...},
//                 "headers":{"Idempotency-Key":"k"}}, ...]}
//   -> 200 {"responses":[{"id":"1","status":200,"body":{...}}, ...]}, in request order.
// Each sub-request runs in the gateway itself, with the caller's key and scopes. Pure:
// this parses the body and renders the answer; JobApi runs the sub-requests.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/http_types.h"

namespace batchq {

inline constexpr std::size_t kMaxApiBatchRequests = 100;
inline constexpr std::size_t kMaxApiBatchIdBytes = 64;

struct ApiSubRequest {
  std::string id;
  // Method, path, query, body (the "body" value as JSON text) and the Idempotency-Key
  // and Prefer headers; the caller's Authorization is the batch's own.
  HttpRequestIn request;
  // Set when the gateway will not run it (an absolute URL, a URL outside /v1/, a nested
  // batch, a method the API does not take): answered with this error in its place.
  std::optional<Error> refused;
};

// The sub-requests in order; invalid_json or invalid_request (the sentence says what)
// when the body is not a batch: not {"requests":[...]}, none or more than
// kMaxApiBatchRequests, an entry without a string id, method or url, or ids repeated.
Result<std::vector<ApiSubRequest>> ParseApiBatch(std::string_view body);

struct ApiSubResponse {
  std::string id;
  HttpReply reply;
};

// {"responses":[...]}: per sub-request its id, status, headers (the reply's, and its
// Content-Type when not JSON) and body: JSON as it is, text as a string, other bytes
// as base64 with "body_encoding":"base64".
std::string RenderApiBatch(std::span<const ApiSubResponse> responses);

}  // namespace batchq

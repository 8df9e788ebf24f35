#include "gateway/submit_admission.h"

#include <algorithm>

#include <fmt/format.h>

namespace batchq {
namespace {

void RefuseUnknownTypes(std::vector<Result<JobRequest>>& items, const wire::Status& served) {
  for (auto& item : items) {
    if (!item) continue;
    const bool known = std::any_of(served.types.begin(), served.types.end(),
                                   [&](const wire::TypeStatus& t) { return t.name == item->type; });
    if (!known) {
      item = Fail(
          ErrorCode::kUnknownType,
          fmt::format("No job type '{}' is served here; GET /v1/types lists them.", item->type));
    }
  }
}

Status CheckIdempotencyKey(std::string_view key, std::size_t max_size) {
  const bool visible =
      std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (key.size() > max_size || !visible) {
    return Fail(ErrorCode::kInvalidRequest,
                fmt::format("Idempotency-Key must be 1-{} visible ASCII characters.", max_size));
  }
  return Ok();
}

}  // namespace

std::string Fingerprint(std::string_view body) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return fmt::format("{:016x}", hash);
}

Result<AdmittedSubmit> ParseSubmit(const HttpRequestIn& request, bool batch,
                                   const AdmissionLimits& limits) {
  if (!IsJsonContentType(request.content_type)) return Fail(ErrorCode::kUnsupportedMediaType);
  AdmittedSubmit admitted;
  admitted.batch = batch;
  if (batch) {
    auto parsed = ParseBatchRequest(request.body, limits.max_batch_jobs);
    if (!parsed) return std::unexpected(parsed.error());
    admitted.items = std::move(*parsed);
  } else {
    auto parsed = ParseJobRequest(request.body);
    if (!parsed) return std::unexpected(parsed.error());
    admitted.items.push_back(std::move(*parsed));
  }
  return admitted;
}

Status CheckSubmit(AdmittedSubmit& admitted, const HttpRequestIn& request,
                   const AdmissionLimits& limits, const wire::Status& served) {
  // Unknown types are refused before anything is written.
  RefuseUnknownTypes(admitted.items, served);
  if (!admitted.batch && !admitted.items.front()) {
    return std::unexpected(admitted.items.front().error());
  }
  if (!admitted.batch && !request.idempotency_key.empty()) {
    if (auto valid = CheckIdempotencyKey(request.idempotency_key, limits.max_idempotency_key);
        !valid) {
      return std::unexpected(valid.error());
    }
    admitted.idempotency_key = request.idempotency_key;
    admitted.fingerprint = Fingerprint(request.body);
  }
  return Ok();
}

}  // namespace batchq

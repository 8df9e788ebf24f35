#include "broker/submit_check.h"

#include <fmt/format.h>

#include "common/job_id.h"
#include "common/job_limits.h"

namespace batchq {
namespace {

constexpr std::size_t kMaxTypeName = 128;

Status Invalid(std::string message) { return Fail(ErrorCode::kInvalidRequest, std::move(message)); }

}  // namespace

Status CheckSubmittedJob(const wire::SubmitJob& job) {
  if (!LooksLikeJobId(job.id)) return Invalid("The job id is not one a gateway makes.");
  if (job.type.empty() || job.type.size() > kMaxTypeName) {
    return Invalid(fmt::format("The job type must be 1 to {} characters.", kMaxTypeName));
  }
  if (job.priority < kMinPriority || job.priority > kMaxPriority) {
    return Invalid(
        fmt::format("Priority {} is outside {} to {}.", job.priority, kMinPriority, kMaxPriority));
  }
  if (job.timeout_ms < 0 || job.timeout_ms > kMaxTimeoutMs) {
    return Invalid(fmt::format("timeout_ms {} is outside 0 to {}.", job.timeout_ms, kMaxTimeoutMs));
  }
  if (job.tenant_weight < 1 || job.tenant_weight > kMaxTenantWeight) {
    return Invalid(
        fmt::format("Tenant weight {} is outside 1 to {}.", job.tenant_weight, kMaxTenantWeight));
  }
  if (job.input.empty() || job.input.size() > wire::kMaxBodyBytes) {
    return Invalid("The job input is empty or larger than a request may be.");
  }
  return Ok();
}

}  // namespace batchq

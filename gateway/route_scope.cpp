#include "gateway/route_scope.h"

namespace batchq {

std::optional<Scope> RequiredScope(std::string_view method, std::string_view path) {
  if (path == "/metrics" || path == "/v1/keys" || path.starts_with("/v1/keys/")) {
    return Scope::kAdmin;
  }
  if (path == "/v1/jobs:batch" || (path == "/v1/jobs" && method == "POST")) return Scope::kSubmit;
  if (path.starts_with("/v1/jobs/") && method == "DELETE") return Scope::kCancel;
  // Running a job again is a submit (it takes queue room and quota).
  if (path.starts_with("/v1/jobs/") && path.ends_with(":retry")) return Scope::kSubmit;
  // Re-sending a dead webhook delivery acts on the tenant's jobs as a submit does.
  if (path.starts_with("/v1/webhooks/") && path.ends_with(":resend")) return Scope::kSubmit;
  // Every other /v1/ route, methods it does not serve included, so that no answer
  // (not even a 404 or 405) says anything to a caller without a key.
  if (path == "/v1" || path.starts_with("/v1/")) return Scope::kRead;
  return std::nullopt;
}

}  // namespace batchq

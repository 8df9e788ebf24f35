#pragma once
// Who is calling: the tenant and scopes of the request's API key, and the key's limits
// that later steps apply (the broker's queued-jobs cap, the tenant's fair-share
// weight). Every job route takes one; a job of another tenant is "not found" to it.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/api_key.h"
#include "common/job_record.h"

namespace batchq {

struct Caller {
  std::string key_id;  // empty with --auth none
  std::string tenant;
  ScopeSet scopes = 0;
  std::uint64_t max_queued = 0;        // 0: no cap
  std::uint64_t max_stored_bytes = 0;  // 0: the gateway's default cap
  std::uint32_t weight = 1;
  double rate_per_s = 0;  // requests per second; 0: no limit
  std::uint32_t burst = 0;
  bool webhook = false;  // the key holds a webhook secret: its jobs may have a callback_url

  bool admin() const { return Has(scopes, Scope::kAdmin); }
  // Admins see every tenant's jobs; everyone else only their own tenant's.
  bool MaySee(const JobRecord& job) const { return MaySeeTenant(job.tenant); }
  bool MaySeeTenant(std::string_view job_tenant) const { return admin() || job_tenant == tenant; }
};

// The caller of every request under --auth none: one tenant, every scope.
inline Caller UnauthenticatedCaller() { return Caller{"", "default", kAllScopes, 0, 0, 1, 0, 0}; }

}  // namespace batchq

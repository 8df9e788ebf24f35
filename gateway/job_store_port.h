#pragma once
// What the gateway's handlers need of the job store, as an interface so they can be
// unit-tested against an in-memory fake. Implementations must be callable from any
// I/O thread at once (PerThreadStores gives each thread its own Redis connection).
// The methods mean what JobStore's do (common/job_store.h).

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/job_store.h"

namespace batchq {

class JobStorePort {
 public:
  virtual ~JobStorePort() = default;
  virtual Result<CreateOutcome> Create(std::span<const NewJob> jobs,
                                       std::optional<IdempotencyClaim> claim) = 0;
  virtual Status CreateGroup(std::span<const NewJob* const> group) = 0;
  virtual Status Remove(std::span<const std::string> ids) = 0;
  virtual Status ForgetIdempotencyKey(std::string_view key) = 0;
  virtual Result<std::optional<JobRecord>> Get(std::string_view id) = 0;
  virtual Result<std::vector<std::optional<JobRecord>>> GetMany(
      std::span<const std::string> ids) = 0;
  virtual Result<JobListPage> RecentSummaries(const JobListQuery& query) = 0;
  virtual Result<std::optional<std::string>> GetBlob(std::string_view id) = 0;
  virtual Result<CancelOutcome> Cancel(std::string_view id, std::string_view cancelled_by,
                                       JobStatus* status_out) = 0;
  virtual Result<RequeueOutcome> Requeue(std::string_view id, JobStatus* status_out) = 0;
  virtual Status WithdrawRequeued(std::string_view id, ErrorCode code,
                                  std::string_view message) = 0;
  virtual Result<StoredBytes> ReadStoredBytes(std::string_view tenant, WallMicros now) = 0;
  virtual Result<int> WaitForReplicas(int replicas, std::chrono::milliseconds timeout) = 0;
  virtual Status Ping() = 0;
};

}  // namespace batchq

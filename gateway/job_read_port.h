#pragma once
// Reading job records without waiting for Redis on the calling thread (GroupRead): the
// records come back through a callback, on the port's own thread.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/job_record.h"

namespace batchq {

class JobReadPort {
 public:
  // One entry per id asked, in order; nullopt where there is no such record.
  using Records = Result<std::vector<std::optional<JobRecord>>>;
  using Done = std::function<void(Records)>;
  virtual ~JobReadPort() = default;
  // Reads the records of `ids` and calls `done` once, never from inside Read. False when
  // the port holds as many reads as it may: nothing is read and `done` is not called.
  virtual bool Read(std::vector<std::string> ids, Done done) = 0;
};

}  // namespace batchq

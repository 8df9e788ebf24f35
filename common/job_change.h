#pragma once
// A job's state change as the change channel ({prefix}done in Redis) carries it: the
// scripts that queue, start and end jobs publish one message per call, each change a
// line "id<TAB>status<TAB>attempt<TAB>tenant<TAB>type", lines joined by '\n'. Gateways
// wake their long-polls on the ending ones and feed their event streams from all of
// them. The channel keeps its historic name: Redis ACLs already grant it to each role.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/job_status.h"

namespace batchq {

struct JobChange {
  std::string id;
  JobStatus status = JobStatus::kQueued;
  std::int64_t attempt = 0;  // the record's attempts when the change was written
  std::string tenant;        // empty without authentication
  std::string type;
};

// One line, without its '\n'.
std::string FormatJobChange(const JobChange& change);
// Every well-formed line of a message; lines that are not (an older writer's bare ids,
// an unknown status) are skipped and counted in `*skipped` when given.
std::vector<JobChange> ParseJobChanges(std::string_view message, std::size_t* skipped = nullptr);

}  // namespace batchq

#pragma once
// A batch's start as one field of a job's record. The finish that claims its jobs as it
// ends them (claim at write, claim_timing.h) writes the start's dispatch time, start
// time, batch size, close reason and batch id into each record as the one field `start`:
//   "<dispatched_us> <started_us - dispatched_us> <batch_size> <close_reason> <batch>"
// and the worker's name into `worker`, as before. Each field a write adds costs Redis a
// scan of the record's listpack and a copy of it, so two fields in place of six took 11%
// of the finish's instructions (docs/BENCHMARKS.md). The start script (a job claimed
// before it runs) still writes the six fields: only an ended record holds `start`.
// Readers take either form: JobStore's reads through SetField (a listing's summaries read
// `start` too), the scripts that read an ended record's start (POST :retry's history line)
// through their own match. A record with both (a POST :retry older than this left
// `start`, and deleted the six, which the next start then writes after it) reads as the six.

#include <optional>
#include <string>
#include <string_view>

#include "common/job_record.h"

namespace batchq {

inline constexpr std::string_view kPackedStartField = "start";

// The packed text of `start`'s dispatch and start times, batch size, close reason and
// batch id; nullopt when the text would be longer than kMaxPackedStartBytes or the
// close reason or batch id is empty or holds whitespace (the record then gets the six
// fields).
std::optional<std::string> PackStart(const JobRecord& start);

// Sets `record`'s five packed members from `text`; false, and nothing set, when it does
// not parse.
bool UnpackStart(std::string_view text, JobRecord& record);

// Redis keeps a hash as a listpack only while each value is at most
// hash-max-listpack-value (64 bytes by default); past it the record would take about
// three times the memory (docs/BENCHMARKS.md).
inline constexpr std::size_t kMaxPackedStartBytes = 64;

}  // namespace batchq

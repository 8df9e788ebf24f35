#include "common/log_context.h"

namespace batchq {
namespace {

thread_local LogContext current;

}  // namespace

const LogContext& CurrentLogContext() { return current; }

ScopedLogContext::ScopedLogContext(std::string_view batch_id, std::string_view job_id)
    : saved_(current) {
  if (!batch_id.empty()) current.batch_id = batch_id;
  if (!job_id.empty()) current.job_id = job_id;
}

ScopedLogContext::~ScopedLogContext() { current = saved_; }

}  // namespace batchq

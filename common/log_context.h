#pragma once
// Which batch and job the calling thread is working on, so that every log line written
// meanwhile carries their ids (fields "batch_id"/"job_id" in JSON logs, "batch=… job=…"
// in text logs) without each call site repeating them.
// Thread-local: a scope covers the lines its own thread writes. Scopes nest; an inner
// scope's empty id keeps the outer one. The ids are views: they must outlive the scope.

#include <string_view>

namespace batchq {

struct LogContext {
  std::string_view batch_id;
  std::string_view job_id;
};

// The calling thread's current ids (empty when none).
const LogContext& CurrentLogContext();

class ScopedLogContext {
 public:
  explicit ScopedLogContext(std::string_view batch_id, std::string_view job_id = {});
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  LogContext saved_;
};

}  // namespace batchq

#pragma once
// Every error code batchq can show a user, defined once: the enum, its stable snake_case
// name (in JSON, in the job record, on the wire), the HTTP status it answers with, and a
// default sentence. Adding a code means adding one row to the table in error_code.cpp.

#include <optional>
#include <ostream>
#include <string_view>

namespace batchq {

enum class ErrorCode {
  // HTTP edge: the request itself.
  kInvalidJson,
  kInvalidRequest,
  kUnsupportedMediaType,
  kBodyTooLarge,
  kBadHttp,
  kMethodNotAllowed,
  kNotFound,
  kIdempotencyConflict,
  kNotCancellable,
  kNotRetryable,
  kNoResult,
  kResultExpired,
  kUnauthenticated,
  kForbidden,
  kRateLimited,
  kQuotaExceeded,
  kKeyNotFound,
  // Admission and availability.
  kUnknownType,
  kQueueFull,
  kQueueWaitExceeded,
  kBrokerUnavailable,
  kBrokerTimeout,
  kRedisUnavailable,
  kOverloaded,
  kStorageFull,
  kNotReplicated,
  // Terminal outcomes the system decides.
  kExpired,
  kWorkerLost,
  kCancelled,
  // Handlers.
  kInvalidInput,
  kHandlerError,
  kTransientError,
  kDeviceOutOfMemory,
  kCudaError,
  kNoDevice,
  kPluginError,
  // Start-up and configuration.
  kInvalidSetting,
  kInvalidRedisUrl,
  kRedisAuthFailed,
  kInvalidCurveKey,
  kInvalidUrl,
  kInvalidModel,
  kInvalidPlugin,
  kInvalidBackend,
  kIoError,
  // Between processes and clients.
  kBadFrame,
  kBadVersion,
  kConnectFailed,
  kHttpError,
};

// "queue_full", ...
std::string_view Name(ErrorCode code);
// The HTTP status an answer with this code carries (500 for codes that never reach HTTP).
int HttpStatus(ErrorCode code);
// One human sentence, for answers that have nothing more specific to say.
std::string_view DefaultMessage(ErrorCode code);
// Whether a job that failed with this code may run again by itself (its max_retries,
// after a backoff): a failure of the moment, not of the input.
bool IsRetryable(ErrorCode code);
// The code with this name; nullopt for a name no row has.
std::optional<ErrorCode> ParseErrorCode(std::string_view name);

inline std::ostream& operator<<(std::ostream& out, ErrorCode code) { return out << Name(code); }

}  // namespace batchq

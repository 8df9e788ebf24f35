#include "common/error_code.h"

#include <array>

namespace batchq {
namespace {

struct Row {
  ErrorCode code;
  std::string_view name;
  int http_status;
  std::string_view message;
};

// One row per code, in enum order (checked below).
constexpr std::array kRows{
    Row{ErrorCode::kInvalidJson, "invalid_json", 400, "The body is not valid JSON."},
    Row{ErrorCode::kInvalidRequest, "invalid_request", 400, "The request is malformed."},
    Row{ErrorCode::kUnsupportedMediaType, "unsupported_media_type", 415,
        "Send the body as Content-Type: application/json."},
    Row{ErrorCode::kBodyTooLarge, "body_too_large", 413, "The request body is too large."},
    Row{ErrorCode::kBadHttp, "bad_http", 400, "Malformed HTTP request."},
    Row{ErrorCode::kMethodNotAllowed, "method_not_allowed", 405,
        "That method is not allowed here."},
    Row{ErrorCode::kNotFound, "not_found", 404, "No such job."},
    Row{ErrorCode::kIdempotencyConflict, "idempotency_conflict", 422,
        "This Idempotency-Key was used with a different request body."},
    Row{ErrorCode::kNotCancellable, "not_cancellable", 409,
        "The job already ended; only queued and running jobs can be cancelled."},
    Row{ErrorCode::kNotRetryable, "not_retryable", 409,
        "Only failed, expired and cancelled jobs can be retried."},
    Row{ErrorCode::kNoResult, "no_result", 409, "The job has no result."},
    Row{ErrorCode::kResultExpired, "result_expired", 404, "The job's result has expired."},
    Row{ErrorCode::kUnauthenticated, "unauthenticated", 401,
        "Send a valid API key as Authorization: Bearer <key>."},
    Row{ErrorCode::kForbidden, "forbidden", 403, "This key lacks the scope this route needs."},
    Row{ErrorCode::kRateLimited, "rate_limited", 429, "This key's request rate is exceeded."},
    Row{ErrorCode::kQuotaExceeded, "quota_exceeded", 429,
        "The tenant holds its limit of queued jobs."},
    Row{ErrorCode::kKeyNotFound, "key_not_found", 404, "No such API key."},
    Row{ErrorCode::kUnknownType, "unknown_type", 400, "No such job type is served here."},
    Row{ErrorCode::kQueueFull, "queue_full", 429, "The job type's queue is full."},
    Row{ErrorCode::kQueueWaitExceeded, "queue_wait_exceeded", 429,
        "The job type's queue would keep a new job waiting longer than its bound."},
    Row{ErrorCode::kBrokerUnavailable, "broker_unavailable", 503, "The broker is not reachable."},
    Row{ErrorCode::kBrokerTimeout, "broker_timeout", 503, "The broker did not answer in time."},
    Row{ErrorCode::kRedisUnavailable, "redis_unavailable", 503, "Redis is not reachable."},
    Row{ErrorCode::kOverloaded, "overloaded", 503,
        "The gateway holds as much work as it may; retry shortly."},
    Row{ErrorCode::kStorageFull, "storage_full", 503,
        "Redis is near its memory limit: no new jobs are taken until it has room."},
    Row{ErrorCode::kNotReplicated, "not_replicated", 503,
        "The job did not reach enough Redis replicas in time, so it was withdrawn; retry."},
    Row{ErrorCode::kExpired, "expired", 500, "The job was not dispatched before its timeout."},
    Row{ErrorCode::kWorkerLost, "worker_lost", 500, "The job's worker was lost too many times."},
    Row{ErrorCode::kCancelled, "cancelled", 500, "The job was cancelled."},
    Row{ErrorCode::kInvalidInput, "invalid_input", 400, "The job's input is not valid."},
    Row{ErrorCode::kHandlerError, "handler_error", 500, "The handler failed."},
    Row{ErrorCode::kTransientError, "transient_error", 500,
        "The handler hit a passing failure; the job may run again."},
    Row{ErrorCode::kDeviceOutOfMemory, "device_out_of_memory", 500,
        "The device ran out of memory."},
    Row{ErrorCode::kCudaError, "cuda_error", 500, "A CUDA call failed."},
    Row{ErrorCode::kNoDevice, "no_device", 500, "No GPU is available."},
    Row{ErrorCode::kPluginError, "plugin_error", 500, "The plugin failed."},
    Row{ErrorCode::kInvalidSetting, "invalid_setting", 500, "A setting is not valid."},
    Row{ErrorCode::kInvalidRedisUrl, "invalid_redis_url", 500, "The Redis URL is not valid."},
    Row{ErrorCode::kRedisAuthFailed, "redis_auth_failed", 500,
        "Redis refused the user name or password."},
    Row{ErrorCode::kInvalidCurveKey, "invalid_curve_key", 500, "The CURVE key is not valid."},
    Row{ErrorCode::kInvalidUrl, "invalid_url", 500, "The URL is not valid."},
    Row{ErrorCode::kInvalidModel, "invalid_model", 500, "The model file is not valid."},
    Row{ErrorCode::kInvalidPlugin, "invalid_plugin", 500, "The plugin cannot be loaded."},
    Row{ErrorCode::kInvalidBackend, "invalid_backend", 500, "No such backend."},
    Row{ErrorCode::kIoError, "io_error", 500, "A file could not be read or written."},
    Row{ErrorCode::kBadFrame, "bad_frame", 500, "A malformed message frame."},
    Row{ErrorCode::kBadVersion, "bad_version", 500, "A message of another protocol version."},
    Row{ErrorCode::kConnectFailed, "connect_failed", 500, "The connection failed."},
    Row{ErrorCode::kHttpError, "http_error", 500, "The server answered with an error."},
};

constexpr bool RowsInEnumOrder() {
  for (std::size_t i = 0; i < kRows.size(); ++i) {
    if (static_cast<std::size_t>(kRows[i].code) != i) return false;
  }
  return true;
}
static_assert(RowsInEnumOrder(), "kRows must list every ErrorCode once, in enum order");
static_assert(kRows.size() == static_cast<std::size_t>(ErrorCode::kHttpError) + 1);

const Row& RowOf(ErrorCode code) { return kRows[static_cast<std::size_t>(code)]; }

}  // namespace

std::string_view Name(ErrorCode code) { return RowOf(code).name; }
int HttpStatus(ErrorCode code) { return RowOf(code).http_status; }
std::string_view DefaultMessage(ErrorCode code) { return RowOf(code).message; }

bool IsRetryable(ErrorCode code) {
  return code == ErrorCode::kTransientError || code == ErrorCode::kDeviceOutOfMemory;
}

std::optional<ErrorCode> ParseErrorCode(std::string_view name) {
  for (const Row& row : kRows) {
    if (row.name == name) return row.code;
  }
  return std::nullopt;
}

}  // namespace batchq

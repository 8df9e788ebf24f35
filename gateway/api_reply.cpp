#include "gateway/api_reply.h"

#include "common/json_writer.h"

namespace batchq {

HttpReply JsonReply(int status, std::string body) {
  return HttpReply{status, std::move(body), "application/json", {}};
}

HttpReply ErrorReply(ErrorCode code, std::string_view message) {
  return JsonReply(HttpStatus(code), RenderError(code, message));
}

HttpReply ErrorReply(ErrorCode code) { return ErrorReply(code, DefaultMessage(code)); }

HttpReply ErrorReply(const Error& error) { return ErrorReply(error.code, error.message); }

HttpReply Unavailable(const Error& error) {
  HttpReply reply = ErrorReply(error);
  AddRetryAfter(reply, kUnavailableRetryAfter);
  return reply;
}

void AddRetryAfter(HttpReply& reply, std::chrono::milliseconds after) {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(after);
  reply.headers.emplace_back("Retry-After", std::to_string(seconds.count()));
}

}  // namespace batchq

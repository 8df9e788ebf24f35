#pragma once
// The gateway's view of one HTTP exchange, free of Beast types so the API logic
// does not depend on the server's plumbing.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace batchq {

struct HttpRequestIn {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // after '?', undecoded
  std::string content_type;
  std::string idempotency_key;  // the Idempotency-Key header, when sent
  std::string authorization;    // the Authorization header, when sent; never logged
  std::string prefer;           // the Prefer header (RFC 7240), when sent
  std::string last_event_id;    // the Last-Event-ID header (server-sent events), when sent
  std::string body;
};

// The body of a reply written piece by piece after its headers (server-sent events).
// Thread-safe; holding it keeps the connection's state alive, not the connection open.
class ReplyStream {
 public:
  virtual ~ReplyStream() = default;
  // Queues `bytes` for the client. False once the stream is closed: the client went or
  // sent anything, End was called, or the client fell behind by more than the server's
  // backlog bound (the stream is closed then). Closed streams drop what they are sent.
  virtual bool Send(std::string bytes) = 0;
  // Sends what is queued, ends the body and closes the connection.
  virtual void End() = 0;
  virtual bool closed() const = 0;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the reply is streamed: its status and headers go at once, without a length
  // (chunked), then this is called once with the stream; `body` is not sent.
  std::function<void(std::shared_ptr<ReplyStream>)> stream = nullptr;
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(HttpReply)>;

}  // namespace batchq

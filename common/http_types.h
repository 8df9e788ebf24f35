#pragma once
// The gateway's view of one HTTP exchange, free of Beast types so the API logic
// does not depend on the server's plumbing.

#include <functional>
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
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(HttpReply)>;

}  // namespace batchq
